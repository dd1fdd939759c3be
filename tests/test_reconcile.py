"""`reconcile`: spend in OpenObserve against OpenRouter's ledger (the simulator's, served as
OpenRouter's API reference describes), through the real collector."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from openrouter_openobserve import provision
from openrouter_openobserve.openrouter_api import OpenRouterLedger
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from tests.harness import (
    ROOT,
    Collector,
    child_env,
    emulator_settings,
    run_app,
    run_test_app,
    wait_for,
    write_env_file,
)
from tests.test_dialects import run_vercel_ai_app

API_KEY = "sk-or-v1-" + "a1" * 32
MANAGEMENT_KEY = "sk-or-v1-" + "b2" * 32


@pytest.fixture
def ledger(simulator: OpenRouterSimulator) -> OpenRouterSimulator:
    """The simulator, taking only the test's keys for its ledger."""
    simulator.ledger.api_keys = {API_KEY}
    simulator.ledger.management_keys = {MANAGEMENT_KEY}
    return simulator


def env_file(
    tmp_path: Path, emulator: OpenObserveEmulator, simulator: OpenRouterSimulator, **extra: str
) -> Path:
    values = emulator_settings(
        emulator,
        OPENROUTER_BASE_URL=simulator.base_url,
        OPENROUTER_API_KEY=API_KEY,
        RECONCILE_STATE_FILE=str(tmp_path / "reconcile-state.json"),
        **extra,
    )
    return write_env_file(tmp_path / ".env", values)


def cli(command: str, env: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`openrouter-openobserve COMMAND --env-file ENV ARGS` as a user runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "openrouter_openobserve.cli",
            command,
            "--env-file",
            str(env),
            *args,
        ],
        capture_output=True,
        text=True,
        env=child_env(**extra_env),
        cwd=ROOT,
        timeout=120,
    )


def reconcile(env: Path, collector: Collector, *args: str) -> subprocess.CompletedProcess[str]:
    """The command, exporting its ledger spans to the collector as the apps do."""
    return cli("reconcile", env, *args, OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc_endpoint)


def report_rows(env: Path) -> list[dict[str, Any]]:
    result = cli("report", env, "--since", "1h", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def traced_calls(collector: Collector, simulator: OpenRouterSimulator, n: int) -> list[str]:
    """`n` calls of an app traced by OpenTelemetry's GenAI instrumentation, plain client."""
    return run_test_app(
        "ledger_app",
        [str(n)],
        collector.otlp_grpc_endpoint,
        OPENROUTER_BASE_URL=simulator.base_url,
        OPENROUTER_API_KEY=API_KEY,
    )


def untraced_call(simulator: OpenRouterSimulator, model: str) -> str:
    """A call nothing traces (a script on the same key)."""
    body = {"model": model, "messages": [{"role": "user", "content": "cron job"}]}
    request = urllib.request.Request(
        simulator.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


def rows_with(emulator: OpenObserveEmulator, status: str, n: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        rows = emulator.rows("llm_traces", org="acme")
        matching = [r for r in rows if r.get("openrouter_cost_status") == status]
        return matching if len(matching) >= n else []

    return wait_for(found, what=f"{n} {status} row(s)")


def billed(simulator: OpenRouterSimulator, ids: list[str]) -> float:
    costs = {record["id"]: record["total_cost"] for record in simulator.ledger.billed()}
    return sum(costs[i] for i in ids)


def derived_spend(emulator: OpenObserveEmulator) -> float:
    return sum(float(row["value"]) for row in emulator.metric_rows("gen_ai_usage_cost", "acme"))


def test_reconciled_spend_is_what_openrouter_billed_and_untraced_calls_are_named(
    emulator: OpenObserveEmulator, ledger: OpenRouterSimulator, collector: Collector, tmp_path
) -> None:
    ids = traced_calls(collector, ledger, 4)
    bypass = [untraced_call(ledger, "openai/gpt-4o-mini") for _ in range(2)]
    calls = rows_with(emulator, "not_recorded", 4)
    assert {row["gen_ai_response_id"] for row in calls} == set(ids)
    env = env_file(tmp_path, emulator, ledger, OPENROUTER_MANAGEMENT_KEY=MANAGEMENT_KEY)

    result = reconcile(env, collector, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["calls"]["reconciled"] == 4
    spans = rows_with(emulator, "reconciled", 4)
    assert {row["gen_ai_response_id"] for row in spans} == set(ids)
    assert {row["trace_id"] for row in spans} == {row["trace_id"] for row in calls}
    assert {"openrouter_ledger_native_tokens_prompt", "openrouter_ledger_provider_name"} <= set(
        spans[0]
    )
    rows = report_rows(env)
    assert sum(row["requests"] for row in rows) == 4
    assert sum(row["spend_usd"] for row in rows) == pytest.approx(billed(ledger, ids), rel=1e-9)
    assert sum(row["reconciled_usd"] or 0 for row in rows) == pytest.approx(
        billed(ledger, ids), rel=1e-9
    )
    assert sum(row["unpriced"] for row in rows) == 0
    # The collector's derived spend metric counts the ledger spans too.
    assert wait_for(
        lambda: derived_spend(emulator) >= billed(ledger, ids) * (1 - 1e-9),
        what="the derived spend metric",
    )
    assert derived_spend(emulator) == pytest.approx(billed(ledger, ids), rel=1e-9)

    # The next UTC day, today is a completed day of OpenRouter's activity.
    ledger.ledger.clock = lambda: time.time() + 86_400
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    result = reconcile(env, collector, "--date", today, "--format", "json")
    assert result.returncode == 3, result.stderr  # untraced calls: something to reconcile
    models = json.loads(result.stdout)["models"]
    assert sum(m["traced_requests"] for m in models) == 4
    assert sum(m["reconciled_requests"] for m in models) == 4
    assert sum(m["untraced_requests"] for m in models) == 2
    assert sum(m["untraced_usd"] for m in models) == pytest.approx(billed(ledger, bypass), rel=1e-9)
    [untraced] = rows_with(emulator, "untraced", 1)
    assert untraced["openrouter_ledger_date"] == today
    # ... which the untraced-spend alert reads, above its threshold only.
    for threshold, fires in ((f"{billed(ledger, bypass) / 2:.6f}", True), ("5", False)):
        settings = {"OPENOBSERVE_STREAM": "llm_traces", "ALERT_DESTINATION": "oncall"}
        settings["ALERT_UNRECONCILED_USD"] = threshold
        [alert] = [
            a
            for a in provision.desired_alerts(settings)
            if a["name"] == "openrouter_untraced_spend"
        ]
        now = int(time.time() * 1e6)
        query = {"sql": alert["query_condition"]["sql"], "start_time": now - 86_400_000_000}
        hits = emulator.search("acme", {**query, "end_time": now + 1})["hits"]
        assert bool(hits) == fires, threshold
    rows = report_rows(env)
    assert sum(row["untraced_usd"] or 0 for row in rows) == pytest.approx(
        billed(ledger, bypass), rel=1e-9
    )
    assert sum(row["spend_usd"] for row in rows) == pytest.approx(billed(ledger, ids), rel=1e-9)
    # The same day as a table, for people: a row per model, the untraced calls in it.
    result = reconcile(env, collector, "--date", today)
    assert result.returncode == 3, result.stderr
    header, *table = result.stdout.splitlines()[2:]
    assert header.split()[:3] == ["model", "billed", "req"]
    [mini] = [line.split() for line in table if line.startswith("openai/gpt-4o-mini ")]
    assert mini[4] == "2"  # untraced requests
    # No key in any span, and every lookup asked once: the later runs looked nothing up.
    assert API_KEY not in json.dumps(emulator.rows("llm_traces", org="acme"))
    assert MANAGEMENT_KEY not in json.dumps(emulator.rows("llm_traces", org="acme"))
    assert sorted(ledger.ledger.lookups) == sorted(ids)


def test_the_vercel_ai_sdks_calls_are_reconciled_too(
    emulator: OpenObserveEmulator, simulator: OpenRouterSimulator, collector: Collector, tmp_path
) -> None:
    """The real Vercel AI SDK (Node) with its OpenAI-compatible provider records no billed
    cost: after `reconcile`, spend is what the simulator billed for its answered calls."""
    answers = run_vercel_ai_app(collector, simulator)
    ids = [a["id"] for a in answers.values() if isinstance(a, dict) and "usage" in a]
    ids += [a[-1]["id"] for a in answers.values() if isinstance(a, list)]
    assert len(ids) == 2, answers
    rows_with(emulator, "not_recorded", 2)
    env = env_file(tmp_path, emulator, simulator)
    result = reconcile(env, collector, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows_with(emulator, "reconciled", 2)
    rows = report_rows(env)
    assert sum(row["requests"] for row in rows) == 3  # the refused call too
    assert sum(row["spend_usd"] or 0 for row in rows) == pytest.approx(
        billed(simulator, ids), rel=1e-9
    )


def test_a_call_that_carried_its_cost_is_counted_once_after_verifying(
    emulator: OpenObserveEmulator, ledger: OpenRouterSimulator, collector: Collector, tmp_path
) -> None:
    """openrouter_client() records the billed cost; `--verify` looks it up anyway and the
    `verified` span it writes counts in no spend figure."""
    result = run_app(
        ["ask", "What is OpenTelemetry?", "--model", "openai/gpt-4o-mini"],
        env={
            "OPENROUTER_API_KEY": API_KEY,
            "OPENROUTER_BASE_URL": ledger.base_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
        },
    )
    assert result.returncode == 0, result.stderr
    [call] = rows_with(emulator, "reported", 1)
    env = env_file(tmp_path, emulator, ledger)
    for _ in range(2):  # and a second run writes no second span
        result = reconcile(env, collector, "--verify", "--format", "json")
        assert result.returncode == 0, result.stderr
    [verified] = rows_with(emulator, "verified", 1)
    assert verified["gen_ai_response_id"] == call["gen_ai_response_id"]
    assert float(verified["openrouter_ledger_total_cost"]) == pytest.approx(
        float(call["gen_ai_usage_cost"]), rel=1e-9
    )
    [row] = report_rows(env)
    assert row["requests"] == 1
    assert row["spend_usd"] == pytest.approx(billed(ledger, [call["gen_ai_response_id"]]))
    assert ledger.ledger.lookups == [call["gen_ai_response_id"]]


def test_a_generation_the_ledger_has_not_recorded_yet_is_reconciled_on_a_later_run(
    emulator: OpenObserveEmulator, ledger: OpenRouterSimulator, collector: Collector, tmp_path
) -> None:
    ledger.ledger.lag_s = 4.0  # the ledger records a generation a moment after its answer
    [generation] = traced_calls(collector, ledger, 1)
    rows_with(emulator, "not_recorded", 1)
    env = env_file(tmp_path, emulator, ledger)
    result = reconcile(env, collector, "--format", "json")
    assert result.returncode == 3, result.stderr  # not in the ledger yet
    assert json.loads(result.stdout)["calls"]["pending"] == [generation]
    asked = len(ledger.ledger.lookups)
    assert asked > 1  # retried with backoff within the run
    time.sleep(4.0)
    result = reconcile(env, collector, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows_with(emulator, "reconciled", 1)
    result = reconcile(env, collector, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert len(ledger.ledger.lookups) == asked + 1  # answered once, never asked again


def test_lookups_are_spaced_to_the_rate_bound(ledger: OpenRouterSimulator) -> None:
    generations = [untraced_call(ledger, "openai/gpt-4o-mini") for _ in range(3)]
    waits: list[float] = []
    client = OpenRouterLedger(ledger.base_url, API_KEY, max_rps=2, sleep=waits.append)
    for generation in generations:
        assert client.generation(generation)["id"] == generation
    assert len(waits) == 2 and all(0.4 < wait <= 0.5 for wait in waits)


def test_a_rate_limit_waits_for_retry_after(ledger: OpenRouterSimulator) -> None:
    [generation] = [untraced_call(ledger, "openai/gpt-4o-mini")]
    ledger.ledger.fail(429, count=2, retry_after_s=3)
    waits: list[float] = []
    client = OpenRouterLedger(ledger.base_url, API_KEY, max_rps=100, sleep=waits.append)
    assert client.generation(generation)["id"] == generation
    assert [w for w in waits if w >= 1] == [3.0, 3.0]


def test_a_wrong_key_is_one_line_and_writes_nothing(
    emulator: OpenObserveEmulator, ledger: OpenRouterSimulator, collector: Collector, tmp_path
) -> None:
    traced_calls(collector, ledger, 1)
    rows_with(emulator, "not_recorded", 1)
    wrong = "sk-or-v1-" + "c3" * 32
    env = env_file(tmp_path, emulator, ledger)
    env.write_text(env.read_text().replace(API_KEY, wrong))
    result = reconcile(env, collector)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "401" in line and "OPENROUTER_API_KEY" in line and wrong not in line
    time.sleep(2)
    statuses = {r.get("openrouter_cost_status") for r in emulator.rows("llm_traces", org="acme")}
    assert statuses - {None} == {"not_recorded"}
    state = tmp_path / "reconcile-state.json"
    assert not state.exists() or json.loads(state.read_text())["answered"] == {}


def test_a_backend_outage_during_reconcile_loses_and_doubles_nothing(
    emulator: OpenObserveEmulator,
    ledger: OpenRouterSimulator,
    start_collector,
    collector_env: dict[str, str],
    tmp_path,
) -> None:
    collector = start_collector({**collector_env, "COLLECTOR_RETRY_MAX_INTERVAL_S": "2"})
    ids = traced_calls(collector, ledger, 3)
    rows_with(emulator, "not_recorded", 3)
    env = env_file(tmp_path, emulator, ledger)
    emulator.fail(503, seconds=8)  # OpenObserve takes no spans for a while
    for _ in range(2):  # a run during the outage, and the next one
        result = reconcile(env, collector, "--format", "json")
        assert result.returncode == 0, result.stderr
    spans = rows_with(emulator, "reconciled", 3)  # the collector's queue delivered them
    time.sleep(3)
    spans = [
        r
        for r in emulator.rows("llm_traces", org="acme")
        if r.get("openrouter_cost_status") == "reconciled"
    ]
    assert sorted(r["gen_ai_response_id"] for r in spans) == sorted(ids)
    rows = report_rows(env)
    assert sum(row["spend_usd"] for row in rows) == pytest.approx(billed(ledger, ids), rel=1e-9)

    # The collector unreachable: one line; the answers are kept and delivered by the next
    # run, which asks OpenRouter nothing again.
    [late] = traced_calls(collector, ledger, 1)
    rows_with(emulator, "not_recorded", 4)
    asked = len(ledger.ledger.lookups)
    result = cli(
        "reconcile",
        env,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert "did not take 1 ledger span" in line
    assert len(ledger.ledger.lookups) == asked + 1
    result = reconcile(env, collector)
    assert result.returncode == 0, result.stderr
    assert len(ledger.ledger.lookups) == asked + 1
    assert late in {r["gen_ai_response_id"] for r in rows_with(emulator, "reconciled", 4)}

    # OpenObserve unreachable: one line, nothing written, and the next run is whole.
    down = env_file(tmp_path, emulator, ledger, OPENOBSERVE_URL="http://127.0.0.1:9")
    result = reconcile(down, collector)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
