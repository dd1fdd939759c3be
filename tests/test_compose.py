"""docker-compose.yml, checked statically (no Docker engine here): it follows the compose
specification, everything it references exists, it pins the manifest's collector release,
binds host ports to 127.0.0.1, holds no secret, and renders a config the collector accepts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from scripts import render_config, settings
from tests.harness import COLLECTOR_BINARY, ROOT

COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def manifest_release() -> str:
    manifest = yaml.safe_load((ROOT / "collector" / "builder-config.yaml").read_text())
    return manifest["dist"]["version"]


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


def test_collector_runs_the_contrib_image_of_the_manifest_release(compose: dict[str, Any]) -> None:
    base = compose["services"]["collector"]["build"]["args"]["BASE"]
    assert base == f"otel/opentelemetry-collector-contrib:{manifest_release()}"
    dockerfile = (ROOT / "collector" / "Dockerfile").read_text()
    assert f"ARG BASE=otel/opentelemetry-collector-contrib:{manifest_release()}" in dockerfile


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
        assert service["build"]["args"]["BASE"].endswith(f":{manifest_release()}")
        assert "ports" not in service  # only agents talk to gateways, inside the network
        assert service["environment"]["COLLECTOR_GATEWAY_TOKEN"].startswith("${")
    command = services["gateway-config"]["command"]
    assert command[:2] == ["--role", "gateway"]
    example = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    gateway_env = {
        **example,
        **{k: str(v) for k, v in services["gateway-config"]["environment"].items()},
        "OPENOBSERVE_URL": "http://openobserve:5080",
        "COLLECTOR_ROLE": "gateway",
        "COLLECTOR_GATEWAY_TOKEN": "t" * 20,
    }
    text = render_config.render(settings.validate(gateway_env))
    grpc = yaml.safe_load(text)["receivers"]["otlp"]["protocols"]["grpc"]
    assert grpc["tls"]["cert_file"] == "/etc/otelcol-certs/gateway.pem"
    assert grpc["auth"]["authenticator"] == "bearertokenauth/gateways"
    secrets = {"OPENOBSERVE_AUTH_TOKEN": "x", "COLLECTOR_GATEWAY_TOKEN": "t" * 20}
    assert render_config.collector_validate(COLLECTOR_BINARY, text, secrets) is None


def test_compose_renders_a_config_the_collector_accepts(compose: dict[str, Any]) -> None:
    """What the collector-config service renders from .env.example, validated by the binary."""
    service = compose["services"]["collector-config"]
    overrides = {
        key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
        for key, value in service["environment"].items()
    }
    example = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    parsed = settings.validate({**example, **overrides})
    text = render_config.render(parsed)
    config = yaml.safe_load(text)
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert config["exporters"]["otlp_http/openobserve"]["endpoint"] == (
        "http://openobserve:5080/api/default"
    )
    assert config["extensions"]["file_storage/queue"]["directory"] == "/var/lib/otelcol/queue"
    complaint = render_config.collector_validate(
        COLLECTOR_BINARY, text, {"OPENOBSERVE_AUTH_TOKEN": example["OPENOBSERVE_AUTH_TOKEN"]}
    )
    assert complaint is None, complaint


def test_provision_runs_once_openobserve_is_healthy(compose: dict[str, Any]) -> None:
    service = compose["services"]["provision"]
    assert service["entrypoint"] == ["python", "-m", "scripts.provision"]
    assert (ROOT / "scripts" / "provision.py").is_file()
    assert service["depends_on"]["openobserve"]["condition"] == "service_healthy"
    assert service["environment"]["OPENOBSERVE_URL"].endswith(":-http://openobserve:5080}")
    assert "restart" not in service  # a one-shot: exits when done
    # OpenObserve refuses alerts on a stream without data: it waits for the first spans.
    assert service["command"][0] == "--wait" and float(service["command"][1]) >= 300
    # The image carries the dashboards and alerts it provisions.
    assert "COPY collector ./collector" in (ROOT / service["build"]["dockerfile"]).read_text()


def test_embedded_openobserve_keeps_a_long_outage_within_its_ingest_window(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["openobserve"]["environment"]
    window = environment["ZO_INGEST_ALLOWED_UPTO"]
    assert window == "${OPENOBSERVE_INGEST_WINDOW_HOURS:-168}"
