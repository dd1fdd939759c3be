"""`doctor`: a pass/fail table with fixes, exit status 1 on any failure."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, Collector
from tests.openobserve_emulator import OpenObserveEmulator


def doctor(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "doctor.env"
    env_file.write_text("".join(f"{key}='{value}'\n" for key, value in env.items()))
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "doctor"),
            "--env-file",
            str(env_file),
            "--timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


def result_of(output: str, check: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(check))
    return next(word for word in line.split() if word in ("pass", "FAIL"))


def test_all_checks_pass_on_a_healthy_path(collector: Collector, tmp_path: Path) -> None:
    result = doctor(collector.env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in (".env", "render", "collector validate", "collector health", "canary in"):
        assert result_of(result.stdout, check) == "pass", result.stdout
    assert "arrived" in result.stdout


def test_wrong_token_fails_with_the_fix(
    emulator: OpenObserveEmulator, start_collector, collector_env: dict[str, str], tmp_path: Path
) -> None:
    wrong = "Basic " + base64.b64encode(b"root@example.com:not-the-password").decode()
    collector = start_collector({**collector_env, "OPENOBSERVE_AUTH_TOKEN": wrong})
    result = doctor(collector.env, tmp_path)
    assert result.returncode == 1
    assert result_of(result.stdout, "collector health") == "pass"
    assert result_of(result.stdout, "canary in OpenObserve") == "FAIL"
    assert "OPENOBSERVE_AUTH_TOKEN is wrong" in result.stdout
    assert wrong.split()[1] not in result.stdout + result.stderr


def test_collector_down_fails_health_and_skips_the_canary(
    collector_env: dict[str, str], tmp_path: Path
) -> None:
    result = doctor({**collector_env, "COLLECTOR_HEALTH_PORT": "1"}, tmp_path)
    assert result.returncode == 1
    assert result_of(result.stdout, "collector health") == "FAIL"
    assert "start the collector" in result.stdout
    assert "skipped" in result.stdout


def test_invalid_env_fails_first(collector_env: dict[str, str], tmp_path: Path) -> None:
    result = doctor({**collector_env, "OPENOBSERVE_URL": "no-scheme"}, tmp_path)
    assert result.returncode == 1
    assert result_of(result.stdout, ".env") == "FAIL"
    assert "OPENOBSERVE_URL: expected" in result.stdout
