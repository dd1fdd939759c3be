"""The collector distribution: one release, exactly the components the configs use, cached build."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from openrouter_openobserve import render_config, settings
from tests.harness import COLLECTOR_BINARY, ROOT

MANIFEST = ROOT / "collector" / "builder-config.yaml"
# Component type in a config -> the Go module that provides it.
MODULE_OF = {
    "otlp": "otlpreceiver",
    "memory_limiter": "memorylimiterprocessor",
    "transform": "transformprocessor",
    "resource": "resourceprocessor",
    "otlp_http": "otlphttpexporter",
    "debug": "debugexporter",
    "health_check": "healthcheckextension",
    "file_storage": "filestorage",
    "loadbalancing": "loadbalancingexporter",
    "bearertokenauth": "bearertokenauthextension",
    "pprof": "pprofextension",
    "cardmask": "cardmaskprocessor",
    "retryable_status": "retryablestatusextension",
}
BASE_ENV = {
    "OPENOBSERVE_ORG": "acme",
    "OPENOBSERVE_AUTH_TOKEN": "Basic cm9vdEBleGFtcGxlLmNvbTpwYXNz",
}


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def component_modules(kinds: tuple[str, ...]) -> set[str]:
    doc = manifest()
    return {entry["gomod"].split()[0].rsplit("/", 1)[1] for kind in kinds for entry in doc[kind]}


def used_modules(env: dict[str, str]) -> set[str]:
    config = yaml.safe_load(render_config.render(settings.validate(env)))
    types = {
        name.split("/")[0]
        for section in ("receivers", "processors", "exporters", "extensions")
        for name in config.get(section) or {}
    }
    return {MODULE_OF[t] for t in types}


def test_every_module_pinned_to_one_release() -> None:
    """Every upstream module at the manifest's release; the bundle's own (a `path` in this
    repository) are built from the checkout."""
    doc = manifest()
    versions = {
        entry["gomod"].split()[1]
        for kind in ("receivers", "processors", "exporters", "extensions", "connectors")
        for entry in doc.get(kind) or []
        if "path" not in entry
    }
    assert versions == {"v" + doc["dist"]["version"]}
    provider_versions = {entry["gomod"].split()[1] for entry in doc["providers"]}
    assert len(provider_versions) == 1  # the stable (v1.x) modules of the same release


def test_manifest_lists_exactly_the_components_the_configs_use() -> None:
    token = {
        "COLLECTOR_GATEWAY_TOKEN": "t" * 16,
        "COLLECTOR_TLS_CA_FILE": "/certs/ca.pem",
        "COLLECTOR_TLS_CERT_FILE": "/certs/gateway.pem",
        "COLLECTOR_TLS_KEY_FILE": "/certs/gateway.key",
    }
    used = (
        used_modules(BASE_ENV)
        | used_modules(BASE_ENV | {"COLLECTOR_DEBUG_EXPORTER": "true"})
        | used_modules(BASE_ENV | {"COLLECTOR_PPROF_PORT": "1777"})
        | used_modules(BASE_ENV | {"CONTENT_POLICY": "redacted"})
        | used_modules(BASE_ENV | token | {"COLLECTOR_GATEWAYS": "gw:4317"})
        | used_modules(BASE_ENV | token | {"COLLECTOR_ROLE": "gateway"})
    )
    built = component_modules(("receivers", "processors", "exporters", "extensions"))
    assert used == built


def test_config_providers_env_file_yaml() -> None:
    providers = {entry["gomod"].split()[0].rsplit("/", 1)[1] for entry in manifest()["providers"]}
    assert providers == {"envprovider", "fileprovider", "yamlprovider"}


def test_built_binary_matches_the_manifest_release() -> None:
    version = subprocess.run(
        [str(COLLECTOR_BINARY), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(rf"\b{re.escape(manifest()['dist']['version'])}\b", version)


def test_build_is_cached_when_the_manifest_is_unchanged() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-collector")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr
    assert Path(result.stdout.strip().splitlines()[-1]) == COLLECTOR_BINARY.resolve()


def test_the_bundles_own_components_pass_their_go_tests() -> None:
    for entry in manifest()["processors"] + manifest()["extensions"]:
        if "path" in entry:
            module = MANIFEST.parent / entry["path"]
            result = subprocess.run(
                ["go", "test", "./..."], cwd=module, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, result.stdout + result.stderr
