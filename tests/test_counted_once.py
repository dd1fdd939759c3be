"""Each HTTP request to OpenRouter is one counted call, whichever way the app is instrumented
(the OpenAI client alone, LangChain on top of it, LangChain alone): in the rows, the derived
metrics and `report`. Calls to another OpenAI-compatible endpoint get no OpenRouter label,
framework spans keep their own attributes, no prompt text leaves under `metadata` (a
moderation refusal quotes it), and the collector logs no warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openrouter_openobserve import report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import Collector, emulator_settings, run_test_app, wait_for, write_env_file
from tests.scenarios import PROMPT_SENTINEL

LANGCHAIN_SCOPE = "openinference.instrumentation.langchain"


def run_framework_app(setup: str, collector: Collector) -> dict[str, int]:
    return run_test_app("framework_app", [setup], collector.otlp_grpc_endpoint)


def llm_rows(emulator: OpenObserveEmulator, expected: int) -> list[dict[str, Any]]:
    def arrived() -> list[dict[str, Any]] | None:
        rows = emulator.rows("llm_traces", org="acme")
        llm = [row for row in rows if row.get("openinference_span_kind") == "LLM"]
        return llm if len(llm) >= expected else None

    return wait_for(arrived, what=f"{expected} LLM spans")


def counted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row.get("gen_ai_provider_name") == "openrouter"]


@pytest.fixture(scope="module", params=["client", "both", "framework"])
def framework_traffic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    setup = request.param
    with OpenObserveEmulator() as emulator:
        collector = Collector(tmp_path_factory.mktemp(setup), emulator_settings(emulator)).start()
        try:
            answered = run_framework_app(setup, collector)
            spans_per_call = 2 if setup == "both" else 1
            rows = llm_rows(emulator, spans_per_call * sum(answered.values()))
            yield setup, emulator, collector, answered, rows
        finally:
            collector.stop()


def test_each_openrouter_request_is_one_counted_row(framework_traffic: Any) -> None:
    setup, _, _, answered, rows = framework_traffic
    assert answered == {"openrouter": 3, "other": 1}
    calls = counted(rows)
    assert len(calls) == answered["openrouter"]
    assert sorted(row["gen_ai_request_model"] for row in calls) == [
        "anthropic/claude-3.5-haiku",
        "openai/gpt-4o-mini",
        "openai/gpt-4o-mini",
    ]
    assert sorted(row["span_status"] for row in calls) == ["ERROR", "OK", "OK"]
    refused = next(row for row in calls if row["span_status"] == "ERROR")
    assert int(refused["http_response_status_code"]) == 403
    assert refused["openrouter_error_message"] == "Your input was flagged by moderation"
    billed = [row for row in calls if row["span_status"] == "OK"]
    statuses = sorted(row["openrouter_cost_status"] for row in billed)
    if setup == "framework":  # LangChain's result has the cost, but not a stream's
        assert statuses == ["not_reported", "reported"]
        (invoked,) = [row for row in billed if row["openrouter_cost_status"] == "reported"]
        assert invoked["gen_ai_response_id"].startswith("gen-")
    else:  # the client's span has the raw answer: cost and upstream provider
        assert statuses == ["reported", "reported"]
        assert all(row["openrouter_provider"] for row in billed)


def test_framework_spans_keep_their_own_attributes(framework_traffic: Any) -> None:
    setup, _, _, _, rows = framework_traffic
    framework = [row for row in rows if row.get("llm_provider") == "openai"]
    if setup == "client":
        assert framework == []
        return
    assert len(framework) == 4  # LangChain's span of each call: its provider, its model name
    if setup == "both":
        assert counted(framework) == []
        assert all("openrouter_cost_status" not in row for row in framework)


def test_another_endpoint_gets_no_openrouter_label(framework_traffic: Any) -> None:
    _, _, _, _, rows = framework_traffic
    elsewhere = [row for row in rows if row.get("llm_model_name") == "gpt-4o-mini"]
    assert elsewhere
    for row in elsewhere:
        assert row.get("gen_ai_provider_name") != "openrouter"
        assert [column for column in row if column.startswith("openrouter_")] == []


def test_no_prompt_text_and_no_warning(framework_traffic: Any) -> None:
    _, emulator, collector, _, _ = framework_traffic
    stored = json.dumps(emulator.rows("llm_traces", org="acme"))
    assert PROMPT_SENTINEL not in stored
    assert "flagged_input" not in stored
    noisy = [
        line for line in collector.log().splitlines() if "\twarn\t" in line or "\terror\t" in line
    ]
    assert noisy == []


def test_derived_metrics_and_report_count_each_request_once(
    framework_traffic: Any, tmp_path: Path
) -> None:
    _, emulator, collector, answered, _ = framework_traffic

    def requests_metric() -> float | None:
        total = sum(row["value"] for row in emulator.metric_rows("openrouter_requests", org="acme"))
        return total if total >= answered["openrouter"] else None

    assert wait_for(requests_metric, what="the request metric") == answered["openrouter"]
    env_file = write_env_file(tmp_path / ".env", collector.env)
    result = CliRunner().invoke(report.main, ["--env-file", str(env_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert sum(group["requests"] for group in json.loads(result.stdout)) == answered["openrouter"]
