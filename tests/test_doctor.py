"""`doctor`: a pass/fail table with fixes, exit status 1 on any failure."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ROOT, Collector


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
    checks = (".env", "render", "collector validate", "collector health", "ingest credential")
    for check in (*checks, "API credential", "collector backlog", "canary in"):
        assert result_of(result.stdout, check) == "pass", result.stdout
    assert "arrived" in result.stdout


WRONG = "Basic " + base64.b64encode(b"root@example.com:not-the-password").decode()


def fix_of(output: str, check: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(check))


def test_wrong_ingest_credential_names_its_setting(
    emulator: OpenObserveEmulator, start_collector, collector_env: dict[str, str], tmp_path: Path
) -> None:
    collector = start_collector({**collector_env, "OPENOBSERVE_AUTH_TOKEN": WRONG})
    result = doctor(collector.env, tmp_path)
    assert result.returncode == 1
    assert result_of(result.stdout, "collector health") == "pass"
    assert result_of(result.stdout, "ingest credential") == "FAIL"
    assert "OPENOBSERVE_AUTH_TOKEN is not accepted for ingestion" in fix_of(
        result.stdout, "ingest credential"
    )
    assert result_of(result.stdout, "API credential") == "pass"  # told apart
    assert result_of(result.stdout, "canary in OpenObserve") == "FAIL"
    assert WRONG.split()[1] not in result.stdout + result.stderr


def test_ingestion_passcode_on_the_api_names_the_api_setting(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path
) -> None:
    """The passcode OpenObserve's ingestion page shows works for the collector, not for the
    API: without OPENOBSERVE_API_TOKEN doctor says that this is the setting to fix."""
    result = doctor({**collector.env, "OPENOBSERVE_API_TOKEN": ""}, tmp_path)
    assert result.returncode == 1
    assert result_of(result.stdout, "ingest credential") == "pass"
    assert result_of(result.stdout, "API credential") == "FAIL"
    assert "set OPENOBSERVE_API_TOKEN" in fix_of(result.stdout, "API credential")
    wrong_api = doctor({**collector.env, "OPENOBSERVE_API_TOKEN": WRONG}, tmp_path)
    assert result_of(wrong_api.stdout, "API credential") == "FAIL"
    assert "OPENOBSERVE_API_TOKEN is refused" in fix_of(wrong_api.stdout, "API credential")
    for output in (result.stdout, wrong_api.stdout):
        assert result_of(output, "canary in OpenObserve") == "FAIL"  # skipped
        assert emulator.passcode not in output and WRONG.split()[1] not in output


def test_the_canary_waits_for_a_stream_that_does_not_exist_yet(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path
) -> None:
    """A search on a stream without data answers 400 (error 20002): doctor keeps polling,
    and the canary's own arrival creates the stream."""
    assert not emulator.stream_exists("acme", collector.env["OPENOBSERVE_STREAM"])
    result = doctor(collector.env, tmp_path)
    assert result.returncode == 0, result.stdout
    searches = [r.status for r in emulator.requests if r.path.endswith("/_search")]
    assert searches[0] == 400 and searches[-1] == 200, searches


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
    # Several bad values: the table keeps one line and says how many more there are.
    result = doctor(
        {**collector_env, "OPENOBSERVE_URL": "no-scheme", "CONTENT_POLICY": "x"}, tmp_path
    )
    assert "OPENOBSERVE_URL: expected" in fix_of(result.stdout, ".env")
    assert "(and 1 more: render-config lists them)" in fix_of(result.stdout, ".env")


def test_readme_sample_render_line_is_the_shipped_example() -> None:
    """The README's sample `doctor` table shows what the render check says of .env.example."""
    from openrouter_openobserve import doctor as doctor_mod

    readme = (ROOT / "README.md").read_text()
    sample = next(line for line in readme.splitlines() if line.startswith("render "))
    checker = doctor_mod.Doctor(ROOT / ".env.example", Path("unused"), canary_timeout_s=1)
    assert checker.check_env().passed
    assert sample.split(None, 2)[2].strip() == checker.check_render().detail


def test_render_check_fails_when_a_secret_reaches_the_config(
    collector_env: dict[str, str], tmp_path: Path, monkeypatch
) -> None:
    """ "no secrets" is checked, not printed: a template that wrote the token would fail."""
    from openrouter_openobserve import doctor as doctor_mod
    from openrouter_openobserve import render_config as render_mod

    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}='{v}'\n" for k, v in collector_env.items()))
    checker = doctor_mod.Doctor(env_file, Path("unused"), canary_timeout_s=1)
    assert checker.check_env().passed
    assert checker.check_render().passed
    leaky = render_mod.render
    monkeypatch.setattr(
        doctor_mod.render_config,
        "render",
        lambda settings: leaky(settings) + f"# {settings['OPENOBSERVE_AUTH_TOKEN']}\n",
    )
    check = checker.check_render()
    assert not check.passed and "secret" in check.detail
    assert collector_env["OPENOBSERVE_AUTH_TOKEN"] not in check.detail
