"""The LLM span contract (README "What gets captured"), asserted on what reaches OpenObserve
through the real collector, for every kind of OpenRouter call: values, not only presence."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openrouter_simulator import DEFAULT_ERRORS
from tests.contract import documented_columns
from tests.harness import Collector, ScenarioRun, run_scenarios
from tests.scenarios import LEAKED_KEY, PROMPT_SENTINEL

COMPLETION_SENTINEL = "Simulated answer"
SUCCESSFUL = [
    "chat",
    "stream",
    "async_client",
    "tool_call",
    "reasoning",
    "cached_prompt",
    "free_model",
    "byok",
    "short_chat",
    "long_chat",
]
ERRORS = [400, 401, 402, 403, 429, 502, 503]
FAILED = [f"error_{status}" for status in ERRORS] + ["mid_stream_error", "timeout"]
# Columns every successful OpenRouter call must carry.
METADATA_COLUMNS = {
    "llm_model_name",
    "llm_system",
    "openinference_span_kind",
    "llm_token_count_prompt",
    "llm_token_count_completion",
    "llm_token_count_total",
    "llm_request_parameters_model",
    "gen_ai_operation_name",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_response_model",
    "gen_ai_response_id",
    "gen_ai_response_finish_reasons",
    "gen_ai_usage_input_tokens",
    "gen_ai_usage_output_tokens",
    "gen_ai_usage_cost",
    "gen_ai_usage_cache_read_input_tokens",
    "gen_ai_usage_cache_creation_input_tokens",
    "gen_ai_usage_reasoning_output_tokens",
    "openrouter_provider",
    "openrouter_model_vendor",
    "openrouter_free_tier",
    "openrouter_is_byok",
    "openrouter_cost_status",
    "duration",
    "span_status",
}
# A 200-message conversation with 20 tools may add at most this many columns to a
# 2-message call with one tool (it adds none today).
EXTRA_COLUMNS_BOUND = 2


def collector_env(emulator: OpenObserveEmulator, **settings: str) -> dict[str, str]:
    return {
        "OPENOBSERVE_URL": emulator.url,
        "OPENOBSERVE_ORG": "acme",
        "OPENOBSERVE_AUTH_TOKEN": emulator.ingest_token,
        **settings,
    }


def scenario_run(
    workdir: Path, names: list[str], settings: dict[str, str], app_env: dict[str, str] | None = None
) -> Iterator[tuple[ScenarioRun, OpenObserveEmulator]]:
    with OpenObserveEmulator() as emulator:
        collector = Collector(workdir, collector_env(emulator, **settings)).start()
        try:
            yield run_scenarios(emulator, collector, names, app_env), emulator
        finally:
            collector.stop()


@pytest.fixture(scope="module")
def metadata_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRun]:
    """The default policy, every scenario, the app's own tracing setup; the app's request
    metadata (OpenInference's `metadata`) allowed besides the allow-list."""
    names = [*SUCCESSFUL, *FAILED, "secrets"]
    workdir = tmp_path_factory.mktemp("metadata")
    for run, emulator in scenario_run(workdir, names, {"CONTENT_ALLOW_ATTRIBUTES": "metadata"}):
        assert emulator.collisions == []
        yield run


@pytest.fixture(scope="module")
def plain_client_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRun]:
    """The successful scenarios from an app whose OpenAI client is its own (not
    openrouter_client()): the collector reads OpenRouter's fields from the response JSON."""
    workdir = tmp_path_factory.mktemp("plain")
    yield from (
        run for run, _ in scenario_run(workdir, SUCCESSFUL, {}, {"SCENARIOS_CLIENT": "plain"})
    )


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRun]:
    """Policy `full` with OpenInference's defaults (every message flattened, app-side)."""
    names = ["short_chat", "long_chat", "secrets", "chat", "mid_stream_error"]
    defaults = {
        "OPENINFERENCE_HIDE_INPUT_MESSAGES": "false",
        "OPENINFERENCE_HIDE_OUTPUT_MESSAGES": "false",
        "OPENINFERENCE_HIDE_LLM_TOOLS": "false",
    }
    settings = {"CONTENT_POLICY": "full", "CONTENT_MAX_BYTES": "2048"}
    workdir = tmp_path_factory.mktemp("full")
    for run, emulator in scenario_run(workdir, names, settings, defaults):
        assert emulator.collisions == []
        yield run


@pytest.fixture(scope="module")
def redacted_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRun]:
    workdir = tmp_path_factory.mktemp("redacted")
    yield from (
        run
        for run, _ in scenario_run(
            workdir, ["personal_data", "secrets"], {"CONTENT_POLICY": "redacted"}
        )
    )


def final_response(answer: dict[str, Any]) -> dict[str, Any]:
    """A response as one JSON document, whether it came whole or as stream chunks."""
    response = answer["response"]
    if isinstance(response, dict):
        return response
    merged = {key: response[0][key] for key in ("id", "model", "provider")}
    merged["usage"] = next(c["usage"] for c in response if c.get("usage"))
    reasons = [ch["finish_reason"] for c in response for ch in c["choices"] if ch["finish_reason"]]
    merged["choices"] = [{"finish_reason": reasons[-1]}]
    return merged


def last_answer(run: ScenarioRun, scenario: str) -> dict[str, Any]:
    return run.answers[scenario][-1]


@pytest.mark.parametrize("run_name", ["metadata_run", "plain_client_run"])
@pytest.mark.parametrize("scenario", SUCCESSFUL)
def test_successful_call_carries_every_metadata_column_with_its_value(
    request: pytest.FixtureRequest, run_name: str, scenario: str
) -> None:
    run: ScenarioRun = request.getfixturevalue(run_name)
    row = run.llm_rows(scenario)[-1]
    answer = last_answer(run, scenario)
    response = final_response(answer)
    usage = response["usage"]
    assert row.keys() >= METADATA_COLUMNS, METADATA_COLUMNS - row.keys()
    assert row["span_status"] == "OK"
    assert row["openinference_span_kind"] == "LLM"
    assert int(row["duration"]) > 0
    # What was asked for, and what answered.
    assert row["llm_request_parameters_model"] == answer["model"]
    assert row["gen_ai_request_model"] == answer["model"]
    assert row["gen_ai_response_model"] == response["model"]
    assert row["llm_model_name"] == response["model"]
    assert row["gen_ai_response_id"] == response["id"]
    assert row["openrouter_provider"] == response["provider"]
    assert row["openrouter_model_vendor"] == response["model"].split("/")[0]
    assert row["gen_ai_operation_name"] == "chat"
    assert row["gen_ai_provider_name"] == "openrouter"
    assert json.loads(row["gen_ai_response_finish_reasons"]) == [
        response["choices"][0]["finish_reason"]
    ]
    # Billed cost and usage, exactly as OpenRouter reported them.
    assert float(row["gen_ai_usage_cost"]) == usage["cost"]
    assert row["openrouter_cost_status"] == ("reported" if usage["cost"] else "reported_zero")
    assert row["openrouter_is_byok"] == str(usage["is_byok"]).lower()
    assert row["openrouter_free_tier"] == str(answer["model"].endswith(":free")).lower()
    for column, value in {
        "llm_token_count_prompt": usage["prompt_tokens"],
        "llm_token_count_completion": usage["completion_tokens"],
        "llm_token_count_total": usage["total_tokens"],
        "gen_ai_usage_input_tokens": usage["prompt_tokens"],
        "gen_ai_usage_output_tokens": usage["completion_tokens"],
        "gen_ai_usage_cache_read_input_tokens": usage["prompt_tokens_details"]["cached_tokens"],
        "gen_ai_usage_cache_creation_input_tokens": usage["prompt_tokens_details"][
            "cache_write_tokens"
        ],
        "gen_ai_usage_reasoning_output_tokens": usage["completion_tokens_details"][
            "reasoning_tokens"
        ],
    }.items():
        # Token columns are numbers in OpenObserve, other attribute values text.
        assert str(row[column]) == str(value), column


def test_request_parameters_when_set(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("chat")
    assert float(row["gen_ai_request_temperature"]) == 0.3
    assert float(row["gen_ai_request_top_p"]) == 0.9
    assert row["gen_ai_request_max_tokens"] == "64"
    assert "gen_ai_request_temperature" not in metadata_run.llm_row("tool_call")


def test_stream_records_time_to_first_chunk(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("stream")
    ttft = float(row["gen_ai_response_time_to_first_chunk"])
    # The simulator waited 0.25 s before the first byte; the whole call took `duration` µs.
    assert 0.25 <= ttft < int(row["duration"]) / 1e6
    assert "gen_ai_response_time_to_first_chunk" not in metadata_run.llm_row("chat")


def test_tool_call_finish_reason(metadata_run: ScenarioRun) -> None:
    assert metadata_run.llm_row("tool_call")["gen_ai_response_finish_reasons"] == '["tool_calls"]'


def test_reasoning_tokens(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("reasoning")
    assert int(row["gen_ai_usage_reasoning_output_tokens"]) > 0
    assert (
        row["gen_ai_usage_reasoning_output_tokens"]
        == row["llm_token_count_completion_details_reasoning"]
    )


def test_cached_prompt_tokens_on_the_second_call(metadata_run: ScenarioRun) -> None:
    first, second = metadata_run.llm_rows("cached_prompt")
    assert first["gen_ai_usage_cache_read_input_tokens"] == 0
    assert int(second["gen_ai_usage_cache_read_input_tokens"]) > 0
    assert float(second["gen_ai_usage_cost"]) < float(first["gen_ai_usage_cost"])


def test_free_model_reports_zero_cost_explicitly(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("free_model")
    assert row["openrouter_free_tier"] == "true"
    assert row["llm_request_parameters_model"] == "meta-llama/llama-3.1-8b-instruct:free"
    assert float(row["gen_ai_usage_cost"]) == 0.0
    assert row["openrouter_cost_status"] == "reported_zero"


def test_byok_call(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("byok")
    usage = final_response(last_answer(metadata_run, "byok"))["usage"]
    assert row["openrouter_is_byok"] == "true"
    assert (
        float(row["openrouter_upstream_cost"]) == usage["cost_details"]["upstream_inference_cost"]
    )
    assert float(row["gen_ai_usage_cost"]) < float(row["openrouter_upstream_cost"])


@pytest.mark.parametrize("status", ERRORS)
def test_openrouter_error_responses(metadata_run: ScenarioRun, status: int) -> None:
    row = metadata_run.llm_row(f"error_{status}")
    assert row["span_status"] == "ERROR"
    assert row["http_response_status_code"] == str(status)
    assert row["openrouter_error_code"] == str(status)
    assert row["openrouter_error_message"] == DEFAULT_ERRORS[status]
    assert DEFAULT_ERRORS[status] in row["status_message"]
    assert row["error_type"] in {
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "RateLimitError",
        "InternalServerError",
        "APIStatusError",
    }
    assert row["openrouter_error_mid_stream"] == "false"
    # From the error body (the app's client hook): only a refusal names its provider.
    refuser = "Mistral" if status == 403 else None
    assert row.get("openrouter_error_provider_name") == refuser
    # No cost was reported, and the row says so: OpenObserve writes a cost of 0 itself.
    assert row["openrouter_cost_status"] == "not_reported"
    assert row["gen_ai_usage_cost"] == 0.0 and row["gen_ai_usage_input_tokens"] == 0
    assert row["llm_request_parameters_model"] == "mistralai/mistral-small-3.1-24b-instruct"
    assert row["openrouter_model_vendor"] == "mistralai"


def test_mid_stream_error(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("mid_stream_error")
    assert row["span_status"] == "ERROR"
    assert row["error_type"] == "APIError"
    assert row["openrouter_error_mid_stream"] == "true"
    assert row["openrouter_error_code"] == "server_error"  # the stream's error chunk says so
    assert row["openrouter_error_message"] == "Provider disconnected unexpectedly"
    assert float(row["gen_ai_response_time_to_first_chunk"]) > 0
    assert row["openrouter_provider"] == "OpenAI"
    assert row["openrouter_cost_status"] == "not_reported"
    assert "http_response_status_code" not in row


def test_client_timeout(metadata_run: ScenarioRun) -> None:
    row = metadata_run.llm_row("timeout")
    assert row["span_status"] == "ERROR"
    assert row["error_type"] == "APITimeoutError"
    assert row["openrouter_cost_status"] == "not_reported"
    assert "http_response_status_code" not in row


def indexed_columns(row: dict[str, Any]) -> list[str]:
    pattern = re.compile(r"^llm_(input_messages|output_messages|tools)_\d+_")
    return [column for column in row if pattern.match(column)]


@pytest.mark.parametrize("run_name", ["metadata_run", "full_run"])
def test_long_conversation_keeps_metadata_and_bounded_columns(
    request: pytest.FixtureRequest, run_name: str
) -> None:
    run: ScenarioRun = request.getfixturevalue(run_name)
    short, long = run.llm_row("short_chat"), run.llm_row("long_chat")
    assert long.keys() >= METADATA_COLUMNS, METADATA_COLUMNS - long.keys()
    assert indexed_columns(long) == []
    assert len(long) <= len(short) + EXTRA_COLUMNS_BOUND
    usage = final_response(last_answer(run, "long_chat"))["usage"]
    assert float(long["gen_ai_usage_cost"]) == usage["cost"]
    assert long["llm_token_count_prompt"] == str(usage["prompt_tokens"])


def stored_text(run: ScenarioRun) -> str:
    return json.dumps(run.rows)


def test_metadata_policy_keeps_prompts_and_completions_on_the_host(
    metadata_run: ScenarioRun,
) -> None:
    text = stored_text(metadata_run)
    assert PROMPT_SENTINEL not in text
    assert COMPLETION_SENTINEL not in text
    assert "tool_0" not in text  # the tools the tool_call scenario offered


def test_the_content_sentinels_do_reach_openobserve_under_full(full_run: ScenarioRun) -> None:
    """The counterpart that makes the metadata test mean something: the same sentinels and
    tool names are found when the policy keeps content."""
    text = stored_text(full_run)
    assert PROMPT_SENTINEL in text and COMPLETION_SENTINEL in text
    assert "tool_0" in text


@pytest.mark.parametrize("run_name", ["metadata_run", "full_run", "redacted_run"])
def test_openrouter_key_never_reaches_openobserve(
    request: pytest.FixtureRequest, run_name: str
) -> None:
    run: ScenarioRun = request.getfixturevalue(run_name)
    row = run.llm_row("secrets")
    text = stored_text(run)
    assert LEAKED_KEY not in text
    assert LEAKED_KEY[len("sk-or-v1-") :] not in text
    # The metadata attribute is kept (under `metadata`, as CONTENT_ALLOW_ATTRIBUTES says):
    # masked, not dropped.
    assert "deploy key sk-or-***" in row["metadata"]


def test_full_policy_keeps_content_within_the_byte_limit(full_run: ScenarioRun) -> None:
    # OpenObserve moves input.value and output.value into its GenAI message columns.
    row = full_run.llm_row("chat")
    assert PROMPT_SENTINEL in row["gen_ai_input_messages"]
    assert COMPLETION_SENTINEL in row["gen_ai_output_messages"]
    assert "input_value" not in row and "output_value" not in row
    long = full_run.llm_row("long_chat")
    assert len(long["gen_ai_input_messages"].encode()) <= 2048
    assert long["gen_ai_input_messages"].endswith("[truncated]")


def test_redacted_policy_masks_personal_data(redacted_run: ScenarioRun) -> None:
    row = redacted_run.llm_row("personal_data")
    assert PROMPT_SENTINEL in row["gen_ai_input_messages"]  # content kept ...
    text = stored_text(redacted_run)
    assert "jane.doe@example.com" not in text  # ... personal data masked
    assert "4111 1111 1111 1111" not in text
    assert "<email>" in row["gen_ai_input_messages"]
    assert "<card-number>" in row["gen_ai_input_messages"]
    assert "<email>" in row["gen_ai_output_messages"]


def test_every_documented_column_is_produced(
    metadata_run: ScenarioRun, full_run: ScenarioRun, redacted_run: ScenarioRun
) -> None:
    """The README's "What gets captured" names no column that real traffic does not yield
    (the gateway's own column is asserted by tests/test_scale_out.py)."""
    produced = {c for run in (metadata_run, full_run, redacted_run) for r in run.rows for c in r}
    elsewhere = {  # columns other setups yield, asserted where those run
        "service_otelcol_gateway",  # tests/test_scale_out.py
        "otel_dropped_attributes_count",  # tests/test_lost_in_app.py
        "gen_ai_conversation_id",  # tests/test_dialects.py (sessions)
        "session_id",  # tests/test_end_to_end.py (sessions)
        "gen_ai_agent_version",  # tests/test_end_to_end.py (an app that sets service.version)
        # ledger spans: tests/test_reconcile.py
        *(c for c in documented_columns() if c.startswith("openrouter_ledger_")),
    }
    assert documented_columns() - elsewhere - produced == set()


def test_failed_calls_keep_their_content_out_of_openobserves_estimates(
    full_run: ScenarioRun,
) -> None:
    row = full_run.llm_row("mid_stream_error")
    assert PROMPT_SENTINEL in row["openrouter_error_input"]
    assert row["openrouter_error_output"]  # the part of the stream that arrived
    assert "gen_ai_input_messages" not in row and "gen_ai_output_messages" not in row
