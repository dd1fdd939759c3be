"""The README's "Configure and render" instructions, followed to the letter in a fresh
directory with the shipped `.env.example`: spans arrive with a valid credential. And the way
a shell reads `.env` (`set -a; . ./.env; set +a`) agrees with `render-config`'s."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import COLLECTOR_BINARY, ROOT, free_port, wait_for

VENV_BIN = Path(sys.executable).parent


def readme_commands(heading: str) -> list[str]:
    """The commands of the first bash block under `heading`, comments stripped."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"\n{heading}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, f"no bash block under {heading}"
    lines = (line.split("#", 1)[0].strip() for line in block[1].splitlines())
    return [line for line in lines if line]


def shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def sourced(variable: str, cwd: Path) -> str:
    """What `set -a; . ./.env; set +a` gives `variable` in a shell."""
    script = f'set -a; . ./.env 2>/dev/null; set +a; printf %s "${variable}"'
    return shell(script, cwd, {"PATH": os.environ["PATH"]}).stdout


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_readme_setup_delivers_spans_with_the_shipped_env(
    emulator: OpenObserveEmulator, tmp_path: Path
) -> None:
    commands = readme_commands("## Configure and render")
    assert commands[0] == ". .venv/bin/activate" and commands[1] == "cp .env.example .env"
    assert "run-collector" in commands
    workdir = tmp_path / "fresh"
    workdir.mkdir()
    # What scripts/setup leaves in a checkout: the virtualenv and the collector binary.
    (workdir / ".venv").symlink_to(VENV_BIN.parent)
    (workdir / "build").mkdir()
    (workdir / "build" / "otelcol").symlink_to(COLLECTOR_BINARY.parent)
    shutil.copy(ROOT / ".env.example", workdir / ".env.example")
    ports = {
        key: str(free_port())
        for key in (
            "COLLECTOR_OTLP_GRPC_PORT",
            "COLLECTOR_OTLP_HTTP_PORT",
            "COLLECTOR_HEALTH_PORT",
            "COLLECTOR_METRICS_PORT",
        )
    }
    # The user's one change: their OpenObserve (real environment variables win over .env).
    env = {"PATH": os.environ["PATH"], "OPENOBSERVE_URL": emulator.url, **ports}
    prefix = "set -e; " + "; ".join(commands[:2]) + "; "
    for command in commands[2:]:
        if command == "run-collector":
            continue
        result = shell(prefix + command, workdir, env)
        assert result.returncode == 0, f"{command}: {result.stderr}"
    assert (
        "cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM"
        not in (workdir / "build" / "collector.yaml").read_text()
    )

    # The shell reads the shipped .env as render-config does.
    token = sourced("OPENOBSERVE_AUTH_TOKEN", workdir)
    assert base64.b64decode(token.removeprefix("Basic ")) == b"root@example.com:Complexpass#123"

    collector = subprocess.Popen(
        ["bash", "-c", prefix + "exec run-collector"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = f"http://127.0.0.1:{ports['COLLECTOR_HEALTH_PORT']}/"
        wait_for(lambda: answers(health), timeout_s=30, what="the collector's health check")
        app = subprocess.run(
            [sys.executable, "-m", "app", "ask", "Hello from the README"],
            cwd=workdir,
            env={
                **env,
                "PYTHONPATH": str(ROOT),
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{ports['COLLECTOR_OTLP_GRPC_PORT']}",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert app.returncode == 0, app.stderr
        rows = wait_for(
            lambda: [r for r in emulator.rows("default", org="default") if r.get("llm_model_name")],
            timeout_s=30,
            what="the app's span in OpenObserve",
        )
    finally:
        collector.terminate()
        collector.wait(timeout=30)
    # The README's app runs offline against the simulator: a call, billed, never spend.
    assert (
        rows[0]["openrouter_cost_status"] == "simulated" and float(rows[0]["gen_ai_usage_cost"]) > 0
    )
    assert {r.status for r in emulator.requests if r.path.endswith("/v1/traces")} == {200}


def test_a_value_the_shell_would_split_is_refused(tmp_path: Path) -> None:
    """The unquoted form that lost every span: a shell sets `Basic` and runs the base64."""
    token = "Basic cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM="
    (tmp_path / ".env").write_text(f"OPENOBSERVE_ORG=default\nOPENOBSERVE_AUTH_TOKEN={token}\n")
    assert sourced("OPENOBSERVE_AUTH_TOKEN", tmp_path) == "Basic"
    result = subprocess.run(
        [str(VENV_BIN / "render-config"), "--print"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("render-config: OPENOBSERVE_AUTH_TOKEN: expected a value")
    assert "line 2" in result.stderr and token.split()[1] not in result.stderr


def test_run_collector_says_in_one_line_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENOBSERVE_ORG=default\n")
    for args, expected in (
        ([], "run-collector: OPENOBSERVE_AUTH_TOKEN: expected"),
        (["--collector", str(tmp_path / "nowhere")], "run-collector: collector binary not found"),
    ):
        if args:
            (tmp_path / ".env").write_text(
                "OPENOBSERVE_ORG=default\n"
                "OPENOBSERVE_AUTH_TOKEN='Basic cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM='\n"
            )
        result = subprocess.run(
            [str(VENV_BIN / "run-collector"), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"]},
        )
        assert result.returncode == 2
        assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1


def traced_builds(command: str) -> list[str]:
    """The build scripts `command` (run from the checkout, every bash script traced) calls."""
    result = subprocess.run(
        command.split(),
        cwd=ROOT,
        env={**os.environ, "SHELLOPTS": "xtrace"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return re.findall(r"^\++ scripts/(build-[a-z]+)$", result.stderr, re.MULTILINE)


def test_the_first_command_builds_only_what_the_demo_uses() -> None:
    """The README's first command sets up the collector but not Compose, which the demo never
    runs; the test command's setup builds both."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    first, tests = (line.split("#", 1)[0].strip() for line in block.splitlines()[:2])
    assert first.startswith("scripts/demo") and tests.startswith("scripts/setup &&")
    assert traced_builds("scripts/demo --help") == ["build-collector"]
    assert traced_builds("scripts/setup") == ["build-collector", "build-compose"]
