"""Every surface that names settings follows the one schema (settings.SECTIONS):
`.env.example` and the README's table are generated from it, and what Compose and the Helm
values pass to the collector is exactly what its configs read."""

from __future__ import annotations

import re

import pytest
import yaml
from dotenv import dotenv_values

from openrouter_openobserve import settings
from openrouter_openobserve.helm_values import helm_values
from openrouter_openobserve.render_config import render
from scripts import settings_surfaces
from scripts.golden import GOLDEN_DIR
from tests.harness import ROOT, env_references

COLLECTOR_SERVICES = ("collector", "gateway-1", "gateway-2")


def test_env_example_is_generated_from_the_schema() -> None:
    assert settings_surfaces.ENV_EXAMPLE.read_text() == settings_surfaces.env_example(), (
        "run scripts/update-settings-docs"
    )


def test_readme_settings_table_is_generated_from_the_schema() -> None:
    readme = settings_surfaces.README.read_text()
    assert settings_surfaces.readme_with_table(readme) == readme, "run scripts/update-settings-docs"


def test_env_example_holds_each_setting_as_the_schema_says() -> None:
    """Each key once, at its example value (or default), commented out where the schema says."""
    values = dotenv_values(settings_surfaces.ENV_EXAMPLE, interpolate=False)
    for setting in settings.SETTINGS:
        if setting.example_commented:
            assert setting.key not in values, setting.key
        else:
            expected = setting.default if setting.example is None else setting.example
            assert values[setting.key] == (expected or ""), setting.key
    assert set(values) <= {s.key for s in settings.SETTINGS}


def test_a_setting_removed_from_the_schema_is_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift check is not vacuous: dropping one key changes both generated surfaces."""
    section = settings.SECTIONS[0]
    fewer = (settings.Section(section.title, section.settings[1:]), *settings.SECTIONS[1:])
    monkeypatch.setattr(settings_surfaces, "SECTIONS", fewer)
    readme = settings_surfaces.README.read_text()
    assert settings_surfaces.env_example() != settings_surfaces.ENV_EXAMPLE.read_text()
    assert settings_surfaces.readme_with_table(readme) != readme
    assert section.settings[0].key not in settings_surfaces.readme_table()


def test_collector_env_keys_are_what_the_golden_configs_read() -> None:
    """The schema's collector_env keys are exactly the ${env:...} the rendered configs read."""
    read = set().union(*(env_references(p.read_text()) for p in GOLDEN_DIR.glob("*.yaml")))
    assert read == set(settings.COLLECTOR_ENV_KEYS)


def test_compose_passes_exactly_the_collector_env_keys() -> None:
    """No container misses a variable its config reads, and none gets a secret it does not."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in COLLECTOR_SERVICES:
        environment = set(services[name]["environment"]) - {"GOMEMLIMIT"}
        assert environment == set(settings.COLLECTOR_ENV_KEYS), name


def test_helm_values_pass_exactly_the_collector_env_keys() -> None:
    raw = settings.read_env(ROOT / "deploy" / "kubernetes" / "gateway.env", environ={})
    raw["OPENOBSERVE_AUTH_TOKEN"] = "Basic dXNlckBleGFtcGxlLmNvbTpwYXNzY29kZQ=="
    raw["COLLECTOR_GATEWAY_TOKEN"] = "helm-shared-token-0123"
    valid = settings.validate(raw)
    values = helm_values(valid, render(valid))
    secret_refs = {
        e["name"] for e in values["extraEnvs"] if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert secret_refs == set(settings.COLLECTOR_ENV_KEYS)


def test_readme_prose_gives_each_setting_its_schema_default() -> None:
    """Wherever the README's prose writes "`KEY` (default X)", X is the schema's default."""
    readme = settings_surfaces.README.read_text()
    quoted = re.findall(r"`([A-Z][A-Z0-9_]+)` \(default ([^);]+)[);]", readme)
    defaults = {s.key: s.default for s in settings.SETTINGS}
    assert quoted, "the README quotes no default"
    for key, value in quoted:
        assert defaults[key] == value, key
