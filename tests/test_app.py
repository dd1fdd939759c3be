"""The example app and its tracing setup, against the real collector; and the no-Docker demo."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from openrouter_openobserve import provision, report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from scripts.demo import MODELS
from tests.harness import (
    ROOT,
    Collector,
    child_env,
    free_port,
    run_app,
    wait_for,
    write_env_file,
)

OFFLINE = {"OPENROUTER_OFFLINE": "true"}


def llm_rows(emulator: OpenObserveEmulator) -> list[dict]:
    return [r for r in emulator.rows("llm_traces") if r.get("openinference_span_kind") == "LLM"]


def test_ask_stream_records_time_to_first_token(
    emulator: OpenObserveEmulator, collector: Collector
) -> None:
    result = run_app(
        ["ask", "stream me", "--stream", "--model", "anthropic/claude-3.5-haiku"],
        env={**OFFLINE, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Simulated answer from anthropic/claude-3.5-haiku: stream me"
    [row] = wait_for(lambda: llm_rows(emulator), what="the streamed call's span")
    assert float(row["gen_ai_response_time_to_first_chunk"]) > 0
    assert row["openrouter_provider"] == "Anthropic"
    assert float(row["gen_ai_usage_cost"]) > 0
    assert row["service_openrouter_simulated"] == "true"  # never mistaken for real spend


def test_simulated_calls_are_never_spend(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path
) -> None:
    """The simulator's calls (`--offline`) count as requests, apart from spend: cost status
    `simulated`, no derived spend, no spend in `report` unless it is asked to include them,
    and nothing for the spend alerts' queries."""
    result = run_app(
        ["ask", "hi", "--model", "openai/gpt-4o-mini"],
        env={**OFFLINE, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint},
    )
    assert result.returncode == 0, result.stderr
    [row] = wait_for(lambda: llm_rows(emulator), what="the simulated call's span")
    assert row["openrouter_cost_status"] == "simulated" and float(row["gen_ai_usage_cost"]) > 0
    requests = wait_for(
        lambda: emulator.metric_rows("openrouter_requests"), what="the request metric"
    )
    assert sum(metric["value"] for metric in requests) == 1
    assert emulator.metric_rows("gen_ai_usage_cost") == []
    env_file = write_env_file(tmp_path / ".env", collector.env)
    for flag, spend in (([], None), (["--include-simulated"], float(row["gen_ai_usage_cost"]))):
        arguments = ["--env-file", str(env_file), "--format", "json", *flag]
        output = CliRunner().invoke(report.main, arguments)
        assert output.exit_code == 0, output.output
        [summary] = json.loads(output.stdout)
        assert (summary["requests"], summary["simulated"], summary["spend_usd"]) == (1, 1, spend)
    settings = {"OPENOBSERVE_STREAM": "llm_traces", "ALERT_DESTINATION": "oncall"}
    settings |= {"ALERT_HOURLY_COST_USD": "0.000001", "ALERT_USER_HOURLY_COST_USD": "1"}
    settings |= {"ALERT_BACKLOG_ITEMS": "10000"}
    (alert,) = [
        a for a in provision.desired_alerts(settings) if a["name"] == "openrouter_hourly_cost"
    ]
    now = int(time.time() * 1e6)
    query = {"sql": alert["query_condition"]["sql"], "start_time": now - 3_600_000_000}
    assert emulator.search("acme", {**query, "end_time": now + 1})["hits"] == []


def test_without_a_key_the_app_refuses_instead_of_simulating() -> None:
    result = run_app(["ask", "hi"], env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: OPENROUTER_API_KEY is not set: set it in .env, or use the bundled OpenRouter "
        "simulator with --offline (or OPENROUTER_OFFLINE=true)"
    ]


def test_a_non_ascii_app_title_is_one_line_not_a_traceback_per_call() -> None:
    result = run_app(["ask", "hi"], env={**OFFLINE, "OPENROUTER_APP_TITLE": "Café Bot"})
    assert result.returncode == 1
    assert "X-OpenRouter-Title header: expected printable ASCII" in result.stderr
    assert "Traceback" not in result.stderr


def test_service_name_and_environment_come_from_the_env_file(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OTEL_SERVICE_NAME=from-dotenv\nDEPLOYMENT_ENVIRONMENT=staging\n")
    result = run_app(
        ["--env-file", str(env_file), "ask", "hi"],
        env={**OFFLINE, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint},
    )
    assert result.returncode == 0, result.stderr
    [row] = wait_for(lambda: llm_rows(emulator), what="the call's span")
    assert row["service_name"] == "from-dotenv"
    assert row["service_deployment_environment_name"] == "staging"


def test_sigterm_right_after_a_call_loses_no_span(
    emulator: OpenObserveEmulator, collector: Collector
) -> None:
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "compare", "hi", "--every", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # A minute between batch exports: only the flush at exit can deliver these spans.
        env=child_env(
            **OFFLINE,
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc_endpoint,
            OTEL_BSP_SCHEDULE_DELAY="60000",
        ),
    )
    try:
        assert app.stdout is not None
        table = [app.stdout.readline() for _ in range(4)]  # header + three models
        assert all(line.strip() for line in table), table
        app.send_signal(signal.SIGTERM)  # long before the batch processor's next export
        assert app.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        app.kill()
    rows = wait_for(lambda: len(llm_rows(emulator)) >= 3 and llm_rows(emulator), what="3 spans")
    assert len(rows) == 3
    assert "Traceback" not in app.stderr.read()


def test_collector_absent_calls_succeed_quietly() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_app(
        ["ask", "anyone there?"], env={**OFFLINE, "OTEL_EXPORTER_OTLP_ENDPOINT": closed}
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Simulated answer")
    assert "Traceback" not in result.stderr


def test_demo_prints_three_models_read_back_from_the_backend(tmp_path: Path) -> None:
    """The README's first command, minus the setup step it shares with the tests."""
    empty_env = tmp_path / ".env"
    empty_env.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--env-file", str(empty_env)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    landed, summary = result.stdout.split("landed in OpenObserve", 1)[1].split("per model and")
    summary, logs = summary.split("the app's own log lines", 1)
    logs, metric = logs.split("its metric app.answers", 1)
    # The app's own log lines and its counter, landed beside its spans.
    for model in MODELS.split(","):
        assert f"INFO      {model} answered by " in logs, logs
        assert re.search(rf"^{re.escape(model)} +ok +1[.]0$", metric, re.MULTILINE), metric
    header, *rows = [line.split() for line in landed.splitlines()[1:] if line.strip()]
    assert header[:3] == ["llm_model_name", "gen_ai_response_model", "openrouter_provider"]
    assert len(rows) == 3
    cost = header.index("gen_ai_usage_cost")
    for row in rows:
        assert row[2] not in ("-", "?")  # provider
        assert float(row[cost]) > 0
    # ... and the `report` table: one row per model, one request each, its spend.
    header, *rows = [line.split() for line in summary.splitlines()[1:] if line.strip()]
    assert header[:3] == ["model", "provider", "requests"]
    assert sorted((row[0], row[2]) for row in rows) == sorted((m, "1") for m in MODELS.split(","))
    # spend USD (the simulator's, as --include-simulated asks), before "reconciled USD",
    # "untraced USD", "no cost", "lost in app" and "simulated"
    assert all(float(row[-6]) > 0 and row[-1] == "1" for row in rows)
