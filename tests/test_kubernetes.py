"""Helm values for the official collector chart, rendered from the same settings and
template, checked statically: roles, image release, autoscaling, secrets by reference, and a
config the collector binary accepts."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from openrouter_openobserve.render_config import collector_validate, main
from tests.harness import COLLECTOR_BINARY, ROOT, env_references

SECRETS = {
    "OPENOBSERVE_AUTH_TOKEN": "Basic cm9vdEBleGFtcGxlLmNvbTpwYXNzd29yZA==",
    "COLLECTOR_GATEWAY_TOKEN": "kubernetes-shared-token-0123",
}


def render_values(env_file: str, *args: str) -> dict:
    result = CliRunner().invoke(
        main,
        [
            "--env-file",
            str(ROOT / "deploy" / "kubernetes" / env_file),
            "--helm-values",
            "--print",
            *args,
        ],
        env=SECRETS,
    )
    assert result.exit_code == 0, result.output
    for secret in SECRETS.values():
        assert secret not in result.stdout
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def release() -> str:
    return str(
        yaml.safe_load((ROOT / "collector" / "builder-config.yaml").read_text())["dist"]["version"]
    )


def test_agent_is_a_daemonset_forwarding_to_the_gateways(release: str) -> None:
    values = render_values("agent.env")
    assert values["mode"] == "daemonset"
    # The image Compose builds from collector/Dockerfile, whose binary the tests run.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    image = compose["services"]["collector"]["image"]
    assert f"{values['image']['repository']}:{values['image']['tag']}" == image
    assert image.endswith(f":{release}")
    assert values["command"] == {"name": "otelcol-openrouter"}
    config = values["alternateConfig"]
    resolver = config["exporters"]["loadbalancing/gateways"]["resolver"]
    assert resolver["dns"]["hostname"].endswith(".svc.cluster.local")
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["loadbalancing/gateways"]
    assert "otlp_http/openobserve" not in config["exporters"]  # no OpenObserve credentials


def test_agent_queue_is_a_node_directory_the_collector_user_owns() -> None:
    """A hostPath directory is created root-owned; the collector runs as 10001."""
    values = render_values("agent.env")
    queue_dir = values["alternateConfig"]["extensions"]["file_storage/queue"]["directory"]
    (queue,) = [v for v in values["extraVolumes"] if v["name"] == "queue"]
    assert queue["hostPath"] == {"path": queue_dir, "type": "DirectoryOrCreate"}
    assert {"name": "queue", "mountPath": queue_dir} in values["extraVolumeMounts"]
    (init,) = values["initContainers"]
    assert init["securityContext"]["runAsUser"] == 0
    assert f"chown 10001:10001 {queue_dir}" in init["command"][-1]
    assert {"name": "queue", "mountPath": queue_dir} in init["volumeMounts"]


def test_gateway_queue_survives_a_restart_and_a_scale_down() -> None:
    """A volume claim per gateway pod (a StatefulSet), kept when the set scales down, and
    writable by the collector's user: never an emptyDir, which dies with the pod."""
    values = render_values("gateway.env", "--role", "gateway")
    assert values["mode"] == "statefulset"
    queue_dir = values["alternateConfig"]["extensions"]["file_storage/queue"]["directory"]
    assert {"name": "queue", "mountPath": queue_dir} in values["extraVolumeMounts"]
    assert not [v for v in values["extraVolumes"] if v["name"] == "queue"]
    (claim,) = values["statefulset"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "queue"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    retention = values["statefulset"]["persistentVolumeClaimRetentionPolicy"]
    assert retention == {"enabled": True, "whenDeleted": "Retain", "whenScaled": "Retain"}
    assert values["podSecurityContext"]["fsGroup"] == 10001


def test_gateway_is_a_statefulset_with_an_hpa(release: str) -> None:
    values = render_values("gateway.env", "--role", "gateway")
    assert values["mode"] == "statefulset"
    assert values["image"]["tag"] == release
    assert values["autoscaling"]["enabled"] is True
    assert values["autoscaling"]["minReplicas"] >= 2
    assert values["service"]["clusterIP"] == "None"  # headless: agents resolve every pod
    grpc = values["alternateConfig"]["receivers"]["otlp"]["protocols"]["grpc"]
    assert grpc["auth"]["authenticator"] == "bearertokenauth/gateways"
    secret_refs = {
        env["name"]: env["valueFrom"]["secretKeyRef"]["name"]
        for env in values["extraEnvs"]
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    # Every secret the config may read, the optional salt of USER_ID_HASH included.
    assert secret_refs == {key: "openrouter-bundle" for key in [*SECRETS, "USER_ID_HASH_SALT"]}


@pytest.mark.parametrize(
    ("env_file", "role"), [("agent.env", []), ("gateway.env", ["--role", "gateway"])]
)
def test_the_config_inside_the_values_is_valid(env_file: str, role: list[str]) -> None:
    values = render_values(env_file, *role)
    text = yaml.safe_dump(values["alternateConfig"])
    assert collector_validate(COLLECTOR_BINARY, text, SECRETS) is None


@pytest.mark.parametrize(
    ("env_file", "role", "golden"),
    [
        ("agent.env", [], ["agent-with-gateways", "agent-hashed-users"]),
        ("gateway.env", ["--role", "gateway"], ["gateway-metadata", "gateway-full"]),
    ],
)
def test_every_variable_a_config_reads_reaches_the_pod(
    env_file: str, role: list[str], golden: list[str]
) -> None:
    """Every ${env:...} of the config inside the values, and of the golden configs of the
    role, is an environment variable of the pod: the salt of USER_ID_HASH included."""
    values = render_values(env_file, *role)
    configs = [yaml.safe_dump(values["alternateConfig"])]
    configs += [(ROOT / "collector" / "golden" / f"{case}.yaml").read_text() for case in golden]
    needed = set().union(*(env_references(text) for text in configs))
    assert needed - {env["name"] for env in values["extraEnvs"]} == set()


def test_hashing_users_makes_the_salt_required(tmp_path) -> None:
    """With USER_ID_HASH=true a pod without the salt in its Secret does not start (the key
    is not optional), rather than hash user ids unsalted."""
    env_file = tmp_path / "agent.env"
    env_file.write_text(
        (ROOT / "deploy" / "kubernetes" / "agent.env").read_text() + "USER_ID_HASH=true\n"
    )
    result = CliRunner().invoke(
        main,
        ["--env-file", str(env_file), "--helm-values", "--print"],
        env={**SECRETS, "USER_ID_HASH_SALT": "kubernetes-salt-0123456789"},
    )
    assert result.exit_code == 0, result.output
    assert "kubernetes-salt-0123456789" not in result.stdout
    refs = {
        env["name"]: env["valueFrom"]["secretKeyRef"]
        for env in yaml.safe_load(result.stdout)["extraEnvs"]
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert refs["USER_ID_HASH_SALT"]["optional"] is False
    assert refs["COLLECTOR_GATEWAY_TOKEN"]["optional"] is True


@pytest.mark.parametrize(
    ("env_file", "role", "kind"),
    [("agent.env", [], "DaemonSet"), ("gateway.env", ["--role", "gateway"], "StatefulSet")],
)
def test_each_env_file_says_what_its_values_make(env_file: str, role: list[str], kind: str) -> None:
    """The header of each deploy/kubernetes env file names the workload its values make and
    every secret its config reads."""
    values = render_values(env_file, *role)
    header = (ROOT / "deploy" / "kubernetes" / env_file).read_text().split("\nCOLLECTOR_", 1)[0]
    assert values["mode"] == kind.lower() and f"({kind}" in header
    read = env_references(yaml.safe_dump(values["alternateConfig"]))
    assert read and all(key in header for key in read), read
