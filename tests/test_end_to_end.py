"""It works: an OpenRouter call made by an instrumented app lands in OpenObserve."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from openrouter_openobserve import report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from tests.harness import (
    Collector,
    emulator_settings,
    run_app,
    run_scenarios,
    wait_for,
    write_env_file,
)


@pytest.fixture
def release(every_release: str) -> str:
    """These tests run against every supported OpenObserve release."""
    return every_release


MODEL = "meta-llama/llama-3.1-8b-instruct"


def test_openrouter_call_lands_in_the_configured_stream(
    emulator: OpenObserveEmulator,
    simulator: OpenRouterSimulator,
    collector: Collector,
    release: str,
) -> None:
    result = run_app(
        ["ask", "What is OpenTelemetry?", "--model", MODEL],
        env={
            "OPENROUTER_API_KEY": "sk-or-v1-" + "0" * 64,
            "OPENROUTER_BASE_URL": simulator.base_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
            "OTEL_SERVICE_NAME": "e2e-app",
            "OTEL_RESOURCE_ATTRIBUTES": "service.version=1.4.0",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "Simulated answer" in result.stdout

    rows = wait_for(
        lambda: [r for r in emulator.rows("llm_traces", org="acme") if r.get("llm_model_name")],
        what="the LLM span in stream llm_traces of org acme",
    )
    assert len(rows) == 1
    row = rows[0]
    sent = simulator.requests[-1]
    usage = sent["response"]["usage"]
    assert row["llm_model_name"] == MODEL
    assert row["llm_token_count_prompt"] == str(usage["prompt_tokens"])
    assert row["llm_token_count_completion"] == str(usage["completion_tokens"])
    assert row["llm_token_count_total"] == str(usage["total_tokens"])
    assert row["openinference_span_kind"] == "LLM"
    assert row["llm_system"] == "openai"
    assert row["span_status"] == "OK"
    assert int(row["duration"]) > 0
    assert row["service_name"] == "e2e-app"
    # v0.92 names the agent's version from the resource's service.version; v0.91.5 does not.
    assert row.get("gen_ai_agent_version") == ("1.4.0" if release != "v0.91.5" else None)
    assert sent["body"]["model"] == MODEL
    # Only accepted requests stored anything, all with the configured credentials.
    assert {r.status for r in emulator.requests} == {200}


def test_openrouter_key_in_a_prompt_never_reaches_openobserve(
    emulator: OpenObserveEmulator,
    simulator: OpenRouterSimulator,
    start_collector,
    collector_env: dict[str, str],
) -> None:
    """Under `full` the prompt itself leaves the host: the key in it must be masked there
    (under `metadata` the prompt would be deleted anyway, proving nothing)."""
    collector = start_collector({**collector_env, "CONTENT_POLICY": "full"})
    leaked_key = "sk-or-v1-" + "5ec7e7" * 10
    prompt = f"my key is {leaked_key} and my header is Authorization: Bearer abcdef0123456789xyz"
    result = run_app(
        ["ask", prompt, "--model", MODEL],
        env={
            "OPENROUTER_API_KEY": "sk-or-v1-" + "0" * 64,
            "OPENROUTER_BASE_URL": simulator.base_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
        },
    )
    assert result.returncode == 0, result.stderr
    [row] = wait_for(lambda: emulator.rows("llm_traces"), what="the LLM span")
    stored = json.dumps(row)
    assert leaked_key not in stored
    assert "5ec7e7" not in stored
    assert "abcdef0123456789xyz" not in stored
    # The prompt did reach OpenObserve, masked: the test would see an unmasked key.
    assert "my key is sk-or-***" in row["gen_ai_input_messages"]
    assert "Bearer ***" in row["gen_ai_input_messages"]
    assert row["llm_model_name"] == MODEL  # masking leaves the metadata alone


def test_report_and_the_sessions_view_agree_on_the_session(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path
) -> None:
    """A call in the app's session (session.id) that asks OpenRouter for another one: the
    bundle's choice, OpenRouter's `session_id`, is what `report --by session` and
    OpenObserve's Sessions view both show (OpenObserve reads session.id first)."""
    run = run_scenarios(emulator, collector, ["two_sessions"])
    row = run.llm_row("two_sessions")
    result = CliRunner().invoke(
        report.main,
        [
            "--env-file",
            str(write_env_file(tmp_path / ".env", emulator_settings(emulator))),
            "--by",
            "session",
            "--since",
            "1h",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    reported = {entry["session"] for entry in json.loads(result.output)}
    assert reported == {"openrouter-session"}
    assert emulator.sessions("acme", "llm_traces") == {"openrouter-session": [row["trace_id"]]}
