"""docker-compose.yml, checked without a Docker engine: by the real Compose's `config` (built
from the Go module proxy by scripts/build-compose), which interpolates and resolves the file
as `docker compose up` would, with the shipped .env.example, the gateway profile and
non-default settings; and statically (compose specification, referenced files, pinned
release, loopback ports, no secret, a config the collector accepts)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from openrouter_openobserve import render_config, settings
from tests.harness import COLLECTOR_BINARY, ROOT, env_references

COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_BINARY = Path(os.environ.get("COMPOSE_BIN", ROOT / "build" / "compose" / "docker-compose"))
GATEWAY_SETTINGS = {
    "COLLECTOR_GATEWAYS": "gateway-1:4317,gateway-2:4317",
    "COLLECTOR_GATEWAY_TOKEN": "change-me-to-a-long-random-token",
    "COLLECTOR_TLS_CA_FILE": "/etc/otelcol-certs/ca.pem",
}
PORTS = {
    "COLLECTOR_OTLP_GRPC_PORT": "14317",
    "COLLECTOR_OTLP_HTTP_PORT": "14318",
    "COLLECTOR_HEALTH_PORT": "13134",
}


def with_settings(changes: dict[str, str]) -> str:
    """.env.example with `changes` made the way a user edits it: each key's line replaced."""
    text = (ROOT / ".env.example").read_text()
    for key, value in changes.items():
        line = f"{key}='{value}'"
        text, found = re.subn(rf"^#? ?{key}=.*$", line, text, flags=re.MULTILINE)
        if not found:
            text += line + "\n"
    return text


def compose_config(tmp_path: Path, changes: dict[str, str], *args: str) -> dict[str, Any]:
    """What the real Compose resolves (`docker compose [ARGS] config`) in a project holding
    the shipped compose file and a .env."""
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    shutil.copy(COMPOSE, project / COMPOSE.name)
    (project / ".env").write_text(with_settings(changes))
    result = subprocess.run(
        [str(COMPOSE_BINARY), *args, "config", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def published(service: dict[str, Any]) -> set[tuple[str, int, int]]:
    return {(p["host_ip"], int(p["published"]), p["target"]) for p in service.get("ports", [])}


def rendered_by(service: dict[str, Any]) -> dict[str, Any]:
    """The collector config a *-config service renders, from its resolved environment."""
    environment = {key: str(value) for key, value in service["environment"].items()}
    role = service["command"][1] if service["command"][0] == "--role" else None
    if role:
        environment["COLLECTOR_ROLE"] = role
    return yaml.safe_load(render_config.render(settings.validate(environment)))


def test_compose_itself_accepts_the_shipped_env_example(tmp_path: Path) -> None:
    services = compose_config(tmp_path, {})["services"]
    assert set(services) == {"collector-config", "collector", "openobserve", "provision"} | {
        "simulator",
        "app",
        "reconcile",
    }
    reconciler = services["reconcile"]
    assert reconciler["command"] == ["--watch"]
    assert reconciler["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317"
    state = reconciler["environment"]["RECONCILE_STATE_FILE"]
    assert any(state.startswith(v["target"] + "/") for v in reconciler["volumes"])
    assert published(services["collector"]) == {
        ("127.0.0.1", 4317, 4317),
        ("127.0.0.1", 4318, 4318),
        ("127.0.0.1", 13133, 13133),
    }
    config = rendered_by(services["collector-config"])
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert config["exporters"]["otlp_http/openobserve"]["endpoint"] == (
        "http://openobserve:5080/api/default"
    )
    assert services["collector"]["environment"]["OPENOBSERVE_AUTH_TOKEN"].startswith("Basic ")
    assert services["app"]["environment"]["OPENROUTER_OFFLINE"] == "true"  # no accounts needed
    volumes = {(v["source"], v["target"]) for v in services["collector"]["volumes"]}
    assert ("collector-queue", "/var/lib/otelcol/queue") in volumes
    # The collector Compose resolves is built from the bundle's manifest, in the project.
    build = services["collector"]["build"]
    assert Path(build["context"]) == tmp_path / "project"
    assert (build["dockerfile"], build["target"]) == ("collector/Dockerfile", "collector")


def test_compose_itself_accepts_the_gateway_profile(tmp_path: Path) -> None:
    services = compose_config(tmp_path, GATEWAY_SETTINGS, "--profile", "gateway")["services"]
    for name in ("gateway-config", "gateway-1", "gateway-2"):
        assert name in services
    for name in ("gateway-1", "gateway-2"):
        assert (
            services[name]["environment"]["COLLECTOR_GATEWAY_TOKEN"]
            == (GATEWAY_SETTINGS["COLLECTOR_GATEWAY_TOKEN"])
        )
        assert "ports" not in services[name]
    agent = rendered_by(services["collector-config"])
    hostnames = agent["exporters"]["loadbalancing/gateways"]["resolver"]["static"]["hostnames"]
    gateway = rendered_by(services["gateway-config"])
    port = gateway["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(":", 1)[1]
    assert hostnames == [f"gateway-1:{port}", f"gateway-2:{port}"]
    # Without the gateway profile the same .env needs no gateway at all.
    assert "gateway-1" not in compose_config(tmp_path, GATEWAY_SETTINGS)["services"]


# The golden configs (collector/golden/) each Compose service runs, by profile.
GOLDEN_BY_SERVICE = {
    (): {"collector": ["agent", "agent-hashed-users"]},
    ("--profile", "gateway"): {
        "collector": ["agent-with-gateways"],
        "gateway-1": ["gateway-metadata", "gateway-full", "gateway-redacted"],
        "gateway-2": ["gateway-metadata", "gateway-full", "gateway-redacted"],
    },
}


@pytest.mark.parametrize("profile", list(GOLDEN_BY_SERVICE))
def test_every_variable_a_config_reads_reaches_its_container(
    tmp_path: Path, profile: tuple[str, ...]
) -> None:
    """Every ${env:...} of every golden config a service may run, and of the config its
    *-config service renders from this .env, is in the environment Compose gives it; with
    USER_ID_HASH=true the salt itself arrives (else hashes are unsalted)."""
    salt = "compose-salt-0123456789abcdef"
    changes = {**GATEWAY_SETTINGS, "USER_ID_HASH": "true", "USER_ID_HASH_SALT": salt}
    services = compose_config(tmp_path, changes, *profile)["services"]
    for service, cases in GOLDEN_BY_SERVICE[profile].items():
        config_service = "gateway-config" if service.startswith("gateway") else "collector-config"
        rendered = yaml.safe_dump(rendered_by(services[config_service]))
        golden = [(ROOT / "collector" / "golden" / f"{c}.yaml").read_text() for c in cases]
        needed = set().union(*(env_references(text) for text in [rendered, *golden]))
        environment = services[service]["environment"]
        assert needed - environment.keys() == set(), service
        assert "USER_ID_HASH_SALT" in needed and environment["USER_ID_HASH_SALT"] == salt


def test_non_default_ports_agree_everywhere(tmp_path: Path) -> None:
    """Published ports, the ports the rendered config listens on, the health checks and the
    app's endpoint all follow COLLECTOR_*_PORT."""
    services = compose_config(tmp_path, {**PORTS, **GATEWAY_SETTINGS}, "--profile", "gateway")
    services = services["services"]
    grpc, http, health = (int(PORTS[k]) for k in PORTS)
    assert published(services["collector"]) == {
        ("127.0.0.1", grpc, grpc),
        ("127.0.0.1", http, http),
        ("127.0.0.1", health, health),
    }
    config = rendered_by(services["collector-config"])
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == f"0.0.0.0:{grpc}"
    assert protocols["http"]["endpoint"] == f"0.0.0.0:{http}"
    assert config["extensions"]["health_check"]["endpoint"] == f"0.0.0.0:{health}"
    for name in ("collector", "gateway-1", "gateway-2"):
        assert f"http://127.0.0.1:{health}/" in services[name]["healthcheck"]["test"], name
    gateway = rendered_by(services["gateway-config"])
    assert gateway["extensions"]["health_check"]["endpoint"] == f"0.0.0.0:{health}"
    assert services["app"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        f"http://collector:{grpc}"
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "collector" / "builder-config.yaml").read_text())


def manifest_release() -> str:
    return manifest()["dist"]["version"]


def manifest_own_components() -> list[dict[str, str]]:
    """The bundle's own collector components (a `path` in this repository)."""
    return [e for kind in ("processors", "extensions") for e in manifest()[kind] if "path" in e]


def test_follows_the_compose_specification() -> None:
    """Validated against the compose-spec JSON schema that check-jsonschema ships."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_referenced_files_services_and_volumes_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert context.is_dir(), f"{name}: build context {context} missing"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for env_file in service.get("env_file") or []:
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            # .env is the user's copy of .env.example, which must exist.
            assert (ROOT / (".env.example" if path == ".env" else path)).is_file(), name
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared_volumes, f"{name}: volume {source} not declared"


def collector_services(compose: dict[str, Any]) -> list[str]:
    return [
        name
        for name in compose["services"]
        if name == "collector" or (name.startswith("gateway-") and name != "gateway-config")
    ]


def test_collectors_run_the_build_the_tests_run(compose: dict[str, Any]) -> None:
    """Compose's collectors are the image of collector/Dockerfile's `collector` target, whose
    build stage runs scripts/build-collector on the manifest and the bundle's own components
    (the build of every test), tagged with the manifest's release."""
    for name in collector_services(compose):
        service = compose["services"][name]
        build = service["build"]
        assert (build["context"], build["dockerfile"], build["target"]) == (
            ".",
            "collector/Dockerfile",
            "collector",
        ), name
        assert service["image"] == f"openrouter-openobserve-collector:{manifest_release()}", name
    dockerfile = (ROOT / "collector" / "Dockerfile").read_text()
    build_stage = dockerfile.split(" AS build\n")[1].split("\nFROM ")[0]
    copied = {line.split()[1] for line in build_stage.splitlines() if line.startswith("COPY ")}
    own = {f"collector/{e['path'].removeprefix('./')}" for e in manifest_own_components()}
    assert copied == {"scripts/build-collector", "collector/builder-config.yaml", *own}
    assert "RUN scripts/build-collector" in build_stage
    assert 'ENTRYPOINT ["/otelcol-openrouter"]' in dockerfile


def test_host_ports_bind_to_loopback(compose: dict[str, Any]) -> None:
    ports = [port for s in compose["services"].values() for port in s.get("ports") or []]
    assert ports, "no published ports"
    for port in ports:
        assert str(port).startswith("127.0.0.1:"), port


def test_health_checks_and_startup_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("collector", "openobserve", "simulator"):
        assert services[name]["healthcheck"]["test"], name
    assert services["app"]["depends_on"]["collector"]["condition"] == "service_healthy"
    assert (
        services["collector"]["depends_on"]["collector-config"]["condition"]
        == "service_completed_successfully"
    )
    assert "collector-queue:/var/lib/otelcol/queue" in services["collector"]["volumes"]
    assert any(v.startswith("openobserve-data:") for v in services["openobserve"]["volumes"])


def test_no_secret_literals(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    assert not re.search(r"sk-or-[A-Za-z0-9]", text)
    assert not re.search(r"Basic [A-Za-z0-9+/=]{8,}", text)
    example = dotenv_values(ROOT / ".env.example")
    for key in settings.SECRET_KEYS:
        if example.get(key):
            assert example[key] not in text, key
    for service in compose["services"].values():
        environment = service.get("environment") or {}
        for key in set(environment) & {*settings.SECRET_KEYS, "ZO_ROOT_USER_PASSWORD"}:
            assert str(environment[key]).startswith("${"), f"{key} must come from .env"


def test_gateway_profile_two_gateways_behind_one_agent(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gateways = [
        name for name, s in services.items() if name.startswith("gateway-") and "hostname" in s
    ]
    assert gateways == ["gateway-1", "gateway-2"]
    for name in gateways:
        service = services[name]
        assert service["profiles"] == ["gateway"]
        assert service["build"]["target"] == "collector"
    assert services["gateway-config"]["command"][:2] == ["--role", "gateway"]


def test_compose_renders_a_config_the_collector_accepts(tmp_path: Path) -> None:
    """What the collector-config service renders from .env.example, validated by the binary."""
    service = compose_config(tmp_path, {})["services"]["collector-config"]
    environment = {key: str(value) for key, value in service["environment"].items()}
    text = render_config.render(settings.validate(environment))
    secrets = render_config.collector_secrets(settings.validate(environment))
    assert render_config.collector_validate(COLLECTOR_BINARY, text, secrets) is None
