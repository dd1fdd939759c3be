"""One contract whatever instrumentation made the spans: the real OpenInference, OpenTelemetry
GenAI, Traceloop and OpenLIT instrumentations drive the real openai client (through
`openrouter_client()`), and the real Vercel AI SDK runs in Node, against the simulator and
the real collector; each call's row has the same values (models, tokens, billed cost where
the client recorded it, upstream provider, vendor, typed errors, the user and the session
where the dialect names them), `report --by user` and the per-user alert read them, and no
prompt leaves under `metadata`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openrouter_openobserve import provision, report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from tests.dialect_app import DIALECTS, PROMPT_SENTINEL, SESSION, USER
from tests.harness import (
    Collector,
    emulator_settings,
    run_test_app,
    wait_for,
    write_env_file,
)
from tests.package_envs import openlit_python, vercel_ai_dir

# What each dialect records beyond the common contract.
STREAM_TTFT = {"openinference", "otel-genai", "openlit", "vercel-ai"}  # Traceloop: none
NAMES_USER = {"openinference", "traceloop", "openlit", "vercel-ai"}  # OTel's: no `user`
NAMES_SESSION = {"openinference", "vercel-ai"}  # using_attributes, telemetry metadata
# Reasoning tokens, recorded even when 0 (OpenTelemetry's and OpenLIT's leave out a zero).
NAMES_REASONING = {"openinference", "traceloop", "vercel-ai"}
# Billed cost and upstream provider come from openrouter_client(), a Python client: the
# Vercel AI SDK's spans carry neither.
BILLED = {"openinference", "otel-genai", "traceloop", "openlit"}
HTTP_STATUS = BILLED  # the Vercel AI SDK records the refusal's message, not its status
SERVED_MODEL_WITHOUT_VENDOR = {"traceloop"}  # it writes "gpt-4o-mini" for "openai/gpt-4o-mini"


def run_vercel_ai_app(
    collector: Collector, simulator: OpenRouterSimulator | None = None
) -> dict[str, Any]:
    """The Node app's calls (two answered, one refused) against `simulator` (else one of
    its own); its answers."""
    if simulator is None:
        with OpenRouterSimulator() as own:
            return run_vercel_ai_app(collector, own)
    app_dir = vercel_ai_dir()
    endpoint = f"http://127.0.0.1:{collector.http_port}"
    for mode in ("ok", "refused"):
        if mode == "refused":
            simulator.fail(429)
        node = ["node", "app.mjs", simulator.base_url, endpoint, mode]
        app = subprocess.run(node, cwd=app_dir, capture_output=True, text=True, timeout=120)
        assert app.returncode == 0, app.stderr
    return {r["body"]["model"]: r["response"] for r in simulator.requests}


def run_dialect_app(dialect: str, collector: Collector) -> dict[str, Any]:
    """The app in `dialect`, exporting to `collector` (OpenLIT: its own env, OTLP/HTTP;
    the Vercel AI SDK: Node); the simulator's answers by requested model."""
    if dialect == "vercel-ai":
        return run_vercel_ai_app(collector)
    python, endpoint = sys.executable, collector.otlp_grpc_endpoint
    if dialect == "openlit":
        python, endpoint = str(openlit_python()), f"http://127.0.0.1:{collector.http_port}"
    answers = run_test_app("dialect_app", [dialect], endpoint, python)
    return {answer["model"]: answer["response"] for answer in answers}


Traffic = tuple[str, Collector, list[dict[str, Any]], dict[str, Any], OpenObserveEmulator]


@pytest.fixture(scope="module", params=[*DIALECTS, "vercel-ai"])
def traffic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Traffic]:
    dialect = request.param
    with OpenObserveEmulator() as emulator:
        collector, answers, rows = collect(dialect, emulator, tmp_path_factory.mktemp(dialect))
        yield dialect, collector, rows, answers, emulator


def collect(
    dialect: str, emulator: OpenObserveEmulator, workdir: Path, **settings: str
) -> tuple[Collector, dict[str, Any], list[dict[str, Any]]]:
    """`dialect`'s app through a fresh collector (.env `settings` besides the emulator's)
    into `emulator`: the collector (stopped), the simulator's answers and the stored rows."""
    collector = Collector(workdir, emulator_settings(emulator, **settings)).start()
    try:
        answers = run_dialect_app(dialect, collector)
        rows = wait_for(
            lambda: (
                len(call_rows(emulator.rows("llm_traces", org="acme"), strict=False)) >= 3
                and emulator.rows("llm_traces", org="acme")
            ),
            what=f"the {dialect} spans",
        )
    finally:
        collector.stop()
    return collector, answers, rows


def call_rows(rows: list[dict[str, Any]], strict: bool = True) -> dict[str, dict[str, Any]]:
    """The counted calls by requested model; `strict`: exactly the app's three."""
    calls = [row for row in rows if row.get("gen_ai_provider_name") == "openrouter"]
    by_model = {row["gen_ai_request_model"]: row for row in calls}
    assert not strict or len(by_model) == len(calls) == 3, calls
    return by_model


def test_billed_calls_have_the_same_values(traffic: Traffic) -> None:
    dialect, _, rows, answers, _ = traffic
    calls = call_rows(rows)
    for model in ("anthropic/claude-3.5-haiku", "openai/gpt-4o-mini"):
        row, answer = calls[model], answers[model]
        final = answer[-1] if isinstance(answer, list) else answer
        served = final["model"]
        assert row["gen_ai_response_model"] == (
            served.split("/", 1)[1] if dialect in SERVED_MODEL_WITHOUT_VENDOR else served
        )
        assert int(row["gen_ai_usage_input_tokens"]) == final["usage"]["prompt_tokens"]
        assert int(row["gen_ai_usage_output_tokens"]) == final["usage"]["completion_tokens"]
        if dialect in BILLED:
            assert float(row["gen_ai_usage_cost"]) == pytest.approx(final["usage"]["cost"])
            assert row["openrouter_cost_status"] == "reported"
            assert row["openrouter_provider"] == final["provider"]
            assert row["openrouter_is_byok"] == str(final["usage"]["is_byok"]).lower()
        else:
            assert row["openrouter_cost_status"] == "not_recorded"
            assert "openrouter_provider" not in row
        assert row["openrouter_model_vendor"] == model.split("/")[0]
        assert row["openrouter_free_tier"] == "false"
        assert row["gen_ai_response_id"] == final["id"]
    stream = calls["openai/gpt-4o-mini"]
    assert ("gen_ai_response_time_to_first_chunk" in stream) == (dialect in STREAM_TTFT)
    # The stream's prompt was sent before (the chat's): every dialect says it was cached.
    cached = answers["openai/gpt-4o-mini"][-1]["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert cached > 0 and int(stream["gen_ai_usage_cache_read_input_tokens"]) == cached
    reasoning = "gen_ai_usage_reasoning_output_tokens" in calls["anthropic/claude-3.5-haiku"]
    assert reasoning == (dialect in NAMES_REASONING)


def test_a_refused_call_is_a_typed_error(traffic: Traffic) -> None:
    dialect, _, rows, _, _ = traffic
    refused = call_rows(rows)["meta-llama/llama-3.1-8b-instruct"]
    assert refused["span_status"] == "ERROR"
    if dialect in HTTP_STATUS:
        assert refused["error_type"] == "RateLimitError"
        assert refused["http_response_status_code"] == "429"
        assert refused["openrouter_error_code"] == "429"
    else:
        assert refused["error_type"] == "AI_APICallError"
    assert refused["openrouter_error_message"] == "Rate limit exceeded: free-models-per-day"
    assert refused["openrouter_cost_status"] == "not_reported"
    assert refused["openrouter_model_vendor"] == "meta-llama"


def test_users_and_sessions_under_one_name(traffic: Traffic) -> None:
    dialect, _, rows, _, _ = traffic
    chat = call_rows(rows)["anthropic/claude-3.5-haiku"]
    assert chat.get("user_id") == (USER if dialect in NAMES_USER else None)
    assert chat.get("gen_ai_conversation_id") == (SESSION if dialect in NAMES_SESSION else None)


def test_no_prompt_and_no_warning(traffic: Traffic) -> None:
    _, collector, rows, _, _ = traffic
    assert PROMPT_SENTINEL not in json.dumps(rows)
    noisy = [
        line for line in collector.log().splitlines() if "\twarn\t" in line or "\terror\t" in line
    ]
    assert noisy == []


def test_report_by_user(traffic: Traffic, tmp_path: Path) -> None:
    dialect, collector, _, answers, _ = traffic
    env_file = write_env_file(tmp_path / ".env", collector.env)
    result = CliRunner().invoke(
        report.main, ["--env-file", str(env_file), "--by", "user", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    by_user = {row["user"]: row for row in json.loads(result.stdout)}
    chat_cost = answers["anthropic/claude-3.5-haiku"]["usage"]["cost"]
    stream_cost = answers["openai/gpt-4o-mini"][-1]["usage"]["cost"]
    if dialect not in BILLED:  # no billed cost: the calls count, their spend does not
        assert {user: row["requests"] for user, row in by_user.items()} == {USER: 1, None: 2}
        assert {row["spend_usd"] for row in by_user.values()} == {None}
    elif dialect in NAMES_USER:
        assert {user: row["requests"] for user, row in by_user.items()} == {USER: 1, None: 2}
        assert by_user[USER]["spend_usd"] == pytest.approx(chat_cost)
        assert by_user[None]["spend_usd"] == pytest.approx(stream_cost)
    else:
        assert {user: row["requests"] for user, row in by_user.items()} == {None: 3}
        assert by_user[None]["spend_usd"] == pytest.approx(chat_cost + stream_cost)


@pytest.mark.parametrize("dialect", ["openinference", "vercel-ai"])
def test_hashed_user_ids_never_leave_as_they_are(tmp_path: Path, dialect: str) -> None:
    salt = "s4lt-for-the-test-0123"
    hashing = {"USER_ID_HASH": "true", "USER_ID_HASH_SALT": salt, "CONTENT_POLICY": "full"}
    with OpenObserveEmulator() as emulator:
        collector, _, rows = collect(dialect, emulator, tmp_path / "collector", **hashing)
    hashed = hashlib.sha256(f"{salt}:{USER}".encode()).hexdigest()
    chat = call_rows(rows)["anthropic/claude-3.5-haiku"]
    assert chat["user_id"] == hashed
    # Under `full` the prompt is kept, in the column OpenObserve's LLM view reads, whatever
    # keys the instrumentation wrote it under.
    assert "gen_ai_input_messages" in chat
    assert USER not in json.dumps(rows)  # nor in the request, its parameters, outer spans
    assert salt not in collector.config_path.read_text()


@pytest.mark.parametrize(
    ("names", "kept", "dropped"),
    [
        ("both", {"cache_creation", "cache_write"}, set()),
        ("previous", {"cache_creation"}, {"cache_write"}),
        ("latest", {"cache_write"}, {"cache_creation"}),
    ],
)
def test_renamed_genai_names_as_the_setting_says(
    tmp_path: Path, names: str, kept: set[str], dropped: set[str]
) -> None:
    with OpenObserveEmulator() as emulator:
        workdir = tmp_path / "collector"
        _, _, rows = collect("openinference", emulator, workdir, GENAI_SEMCONV_NAMES=names)
    chat = call_rows(rows)["anthropic/claude-3.5-haiku"]
    present = {
        n for n in ("cache_creation", "cache_write") if f"gen_ai_usage_{n}_input_tokens" in chat
    }
    assert present == kept and not present & dropped


def test_the_per_user_alert_fires_on_that_traffic(traffic: Traffic) -> None:
    dialect, _, _, answers, emulator = traffic
    chat_cost = answers["anthropic/claude-3.5-haiku"]["usage"]["cost"]
    settings = {"OPENOBSERVE_STREAM": "llm_traces", "ALERT_DESTINATION": "oncall"}
    settings |= {"ALERT_HOURLY_COST_USD": "5", "ALERT_USER_HOURLY_COST_USD": f"{chat_cost / 2}"}
    settings |= {"ALERT_BACKLOG_ITEMS": "10000"}
    (alert,) = [
        a for a in provision.desired_alerts(settings) if a["name"] == "openrouter_user_hourly_cost"
    ]
    now = int(time.time() * 1e6)
    query = {"sql": alert["query_condition"]["sql"], "start_time": now - 3_600_000_000}
    query["end_time"] = now + 1
    if dialect not in NAMES_USER:  # as documented: no user yet, no user_id column
        with pytest.raises(ValueError, match="No field named user_id"):
            emulator.search("acme", query)
        return
    hits = emulator.search("acme", query)["hits"]
    if dialect in BILLED:
        assert [(hit["user"], hit["requests"]) for hit in hits] == [(USER, 1)]
        assert hits[0]["cost_usd"] == pytest.approx(chat_cost)
    else:  # no billed cost: nothing to alert on
        assert hits == []
