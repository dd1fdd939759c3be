"""The package as users install it: a wheel built from this checkout, installed with the lock
into a fresh virtualenv outside the checkout. Its commands run, its package data is there,
`setup_tracing` reaches a real collector, and it installs no `app`, `scripts` or `tests`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ROOT, Collector, emulator_settings, wait_for

COMMANDS = ["render-config", "run-collector", "doctor", "provision", "report"]


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env},
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the fresh virtualenv's bin folder, a working directory outside the checkout)."""
    base = tmp_path_factory.mktemp("installed")
    wheels = base / "dist"
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], base
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("openrouter_openobserve-*.whl")
    venv = base / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], base).returncode == 0
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    result = run([*pip, "-c", str(ROOT / "requirements.lock"), str(wheel)], base)
    assert result.returncode == 0, result.stderr
    workdir = base / "work"
    workdir.mkdir()
    shutil.copy(ROOT / ".env.example", workdir / ".env")
    yield venv / "bin", workdir


def test_no_module_named_app_scripts_or_tests_is_installed(installed: tuple[Path, Path]) -> None:
    bin_dir, workdir = installed
    for module in ("app", "scripts", "tests"):
        result = run([str(bin_dir / "python"), "-c", f"import {module}"], workdir)
        assert "ModuleNotFoundError" in result.stderr, module


def test_every_command_answers_help(installed: tuple[Path, Path]) -> None:
    bin_dir, workdir = installed
    for command in [*COMMANDS, "openrouter-openobserve"]:
        result = run([str(bin_dir / command), "--help"], workdir)
        assert result.returncode == 0 and "Usage:" in result.stdout, command
    group = run([str(bin_dir / "openrouter-openobserve"), "--help"], workdir).stdout
    assert all(command in group for command in COMMANDS)


def test_render_config_from_the_shipped_env_example(installed: tuple[Path, Path]) -> None:
    bin_dir, workdir = installed
    result = run([str(bin_dir / "render-config")], workdir)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((workdir / "build" / "collector.yaml").read_text())
    assert "transform/normalise_openinference" in config["processors"]
    queue = config["extensions"]["file_storage/queue"]["directory"]
    assert queue == str(workdir / "build" / "queue")  # relative to where it ran


def test_the_package_data_ships(installed: tuple[Path, Path]) -> None:
    bin_dir, workdir = installed
    script = (
        "from openrouter_openobserve import provision, helm_values\n"
        "print(len(provision.desired_dashboards('s')), len(provision.load_json("
        "provision.ALERTS_DIR)), helm_values.manifest_release())"
    )
    result = run([str(bin_dir / "python"), "-c", script], workdir)
    assert result.returncode == 0, result.stderr
    release = yaml.safe_load((ROOT / "collector" / "builder-config.yaml").read_text())
    alerts = len(list((ROOT / "collector" / "alerts").glob("*.json")))
    assert result.stdout.split() == ["1", str(alerts), str(release["dist"]["version"])]


def test_the_manifest_ships_with_the_components_it_builds(installed: tuple[Path, Path]) -> None:
    """The installed manifest's own components (a `path` beside it) are installed too, each
    file as in the checkout, so the wheel's manifest builds the collector the tests run."""
    bin_dir, workdir = installed
    script = "from openrouter_openobserve.bundle_files import collector_dir; print(collector_dir())"
    result = run([str(bin_dir / "python"), "-c", script], workdir)
    assert result.returncode == 0, result.stderr
    installed_dir = Path(result.stdout.strip())
    manifest = yaml.safe_load((installed_dir / "builder-config.yaml").read_text())
    own = [entry["path"] for entry in manifest["processors"] if "path" in entry]
    assert own
    for path in own:
        shipped = sorted(p.name for p in (installed_dir / path).iterdir() if p.suffix != ".pyc")
        source = sorted(p.name for p in (ROOT / "collector" / path).iterdir())
        assert shipped == source, path


def test_setup_tracing_reaches_a_real_collector(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    bin_dir, workdir = installed
    script = (
        "from openrouter_openobserve.tracing import setup_tracing\n"
        "provider = setup_tracing()\n"
        "provider.get_tracer('installed').start_span('from the wheel').end()\n"
    )
    with OpenObserveEmulator() as emulator:
        collector = Collector(tmp_path / "collector", emulator_settings(emulator)).start()
        try:
            result = run(
                [str(bin_dir / "python"), "-c", script],
                workdir,
                OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc_endpoint,
                OTEL_SERVICE_NAME="wheel-check",
            )
            assert result.returncode == 0, result.stderr
            rows = wait_for(
                lambda: emulator.rows("llm_traces", org="acme"), what="the installed app's span"
            )
        finally:
            collector.stop()
    assert rows[0]["operation_name"] == "from the wheel"
    assert rows[0]["service_name"] == "wheel-check"
