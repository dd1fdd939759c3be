"""An app's whole telemetry through the real collector: its own log lines and metrics land in
OpenObserve (the emulator) beside its LLM spans, with the same durability, and the GenAI
events among its log records follow CONTENT_POLICY as spans do."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from openrouter_openobserve.content_policy import REMOVED_COUNT
from openrouter_openobserve.provision import desired_alerts
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator, flatten_key
from tests.harness import Collector, run_test_app, wait_for
from tests.telemetry_app import CARD, CARD_LINE, KEY, LOG_LINE, METRIC, PROMPT, SERVICE

METRIC_STREAM = flatten_key(METRIC)


def run_telemetry_app(collector: Collector) -> dict[str, Any]:
    answer = run_test_app("telemetry_app", [], collector.otlp_grpc_endpoint)
    assert answer["export_errors"] == [], answer["export_errors"]
    return answer


def app_logs(emulator: OpenObserveEmulator, expected: int) -> list[dict[str, Any]]:
    """The app's log rows, once `expected` of them have landed."""
    return wait_for(
        lambda: (
            (rows := [r for r in emulator.log_rows("default") if r.get("service_name") == SERVICE])
            and len(rows) >= expected
            and rows
        ),
        what=f"{expected} log rows of {SERVICE}",
    )


def genai_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row.get("instrumentation_library_name", "").find("genai") >= 0]


def test_a_zero_code_app_logs_no_export_error_and_its_log_and_metric_land(
    emulator: OpenObserveEmulator, collector: Collector
) -> None:
    answer = run_telemetry_app(collector)
    rows = app_logs(emulator, 1)
    line = [row for row in rows if row.get("body") == LOG_LINE]
    assert len(line) == 1 and line[0]["severity"] == "WARN", rows
    # Logs keep what the app gave them: no content policy on ordinary log lines.
    assert line[0]["instrumentation_library_name"] == "shop"
    points = wait_for(lambda: emulator.metric_rows(METRIC_STREAM), what=f"the {METRIC} metric")
    assert [point["value"] for point in points] == [3.0]
    assert points[0]["shop_region"] == "eu" and points[0]["service_name"] == SERVICE
    # A credential in a log line is masked, in the body and in the attribute, by any policy.
    (keyed,) = [row for row in app_logs(emulator, 2) if row["severity"] == "ERROR"]
    assert KEY not in json.dumps(keyed)
    assert keyed["body"] == "retrying with key sk-or-***" and keyed["shop_api_key"] == "sk-or-***"
    # ...next to its LLM span, whose answer the app saw.
    spans = wait_for(
        lambda: [
            row
            for row in emulator.rows(collector.env["OPENOBSERVE_STREAM"])
            if row.get("gen_ai_provider_name") == "openrouter"
        ],
        what="the app's LLM span",
    )
    assert len(spans) == 1 and answer["completion"]


@pytest.mark.parametrize("policy", ["metadata", "redacted", "full"])
def test_genai_events_in_logs_follow_the_content_policy(
    emulator: OpenObserveEmulator,
    start_collector: Any,
    collector_env: dict[str, str],
    policy: str,
) -> None:
    collector = start_collector({**collector_env, "CONTENT_POLICY": policy})
    answer = run_telemetry_app(collector)
    events = wait_for(
        lambda: genai_events(app_logs(emulator, 2)), what="the GenAI instrumentation's events"
    )
    text = json.dumps(events)
    if policy == "metadata":
        assert PROMPT not in text and answer["completion"] not in text, text
        assert all(event[flatten_key(REMOVED_COUNT)] > 0 for event in events), events
        assert all("body" not in event for event in events)
    else:
        assert PROMPT in text and answer["completion"] in text
    # The ordinary log line is untouched by every policy; a card number in a log line is
    # masked under `redacted` (as in spans), and only there.
    rows = app_logs(emulator, 4)
    assert any(row.get("body") == LOG_LINE for row in rows)
    masked = CARD_LINE.replace(CARD, "<card-number>")
    assert any(row.get("body") == (masked if policy == "redacted" else CARD_LINE) for row in rows)


def test_logs_and_metrics_queued_through_an_outage_arrive_once(
    emulator: OpenObserveEmulator, collector: Collector
) -> None:
    emulator.fail(503, seconds=6)
    run_telemetry_app(collector)
    line = wait_for(
        lambda: [r for r in emulator.log_rows("default") if r.get("body") == LOG_LINE],
        timeout_s=40,
        what="the app's log line, after the outage",
    )
    assert len(line) == 1
    points = wait_for(
        lambda: emulator.metric_rows(METRIC_STREAM), timeout_s=40, what=f"the {METRIC} metric"
    )
    assert [point["value"] for point in points] == [3.0]
    refused = [
        r for r in emulator.requests if r.status == 503 and r.path.endswith(("/logs", "/metrics"))
    ]
    assert refused, "the backend never refused a log or metric export"


def backlog_alert_rows(emulator: OpenObserveEmulator, org: str) -> list[dict[str, Any]]:
    """What the provisioned backlog alert's query returns over its period, ending now."""
    settings = {"OPENOBSERVE_STREAM": "default", "ALERT_DESTINATION": "oncall"}
    settings |= {"ALERT_HOURLY_COST_USD": "5", "ALERT_USER_HOURLY_COST_USD": "1"}
    settings |= {"ALERT_BACKLOG_ITEMS": "50"}  # the load below queues about 160 spans
    (alert,) = [a for a in desired_alerts(settings) if a["name"] == "openrouter_pipeline_backlog"]
    now = int(time.time() * 1e6)
    period_us = alert["trigger_condition"]["period"] * 60 * 1_000_000
    query = {"sql": alert["query_condition"]["sql"], "start_time": now - period_us, "end_time": now}
    return emulator.search(org, query, "metrics")["hits"]


def spans_backlog(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["exporter"] == "otlp_http/openobserve"]


def test_a_growing_backlog_reaches_openobserve_and_fires_the_alert(
    emulator: OpenObserveEmulator, start_collector: Any, collector_env: dict[str, str]
) -> None:
    """OpenObserve refuses spans for a while (its metrics ingest still answers): the collector's
    own queue reports show the spans' backlog growing, the backlog alert's query returns that
    exporter, and once the backlog has drained it returns nothing."""
    collector = start_collector({**collector_env, "COLLECTOR_TELEMETRY_INTERVAL_S": "1"})
    org = collector.env["OPENOBSERVE_ORG"]
    emulator.fail(503, seconds=12, signal="traces")
    load = run_test_app(
        "load_app", ["--rate", "20", "--seconds", "8"], collector.otlp_grpc_endpoint
    )
    # The spans' exporter; the metrics' own queue holds a batch of these 1 s reports too.
    (row,) = wait_for(
        lambda: spans_backlog(backlog_alert_rows(emulator, org)), what="the backlog alert firing"
    )
    assert row["backlog"] > max(50, row["backlog_before"])
    spans = wait_for(
        lambda: (
            len(emulator.rows(collector.env["OPENOBSERVE_STREAM"])) >= len(load["span_ids"])
            and emulator.rows(collector.env["OPENOBSERVE_STREAM"])
        ),
        timeout_s=60,
        what="every queued span, after the refusals",
    )
    assert {row["span_id"] for row in spans} >= set(load["span_ids"])
    wait_for(
        lambda: not spans_backlog(backlog_alert_rows(emulator, org)),
        timeout_s=30,
        what="the alert to clear",
    )
