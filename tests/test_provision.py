"""Dashboards and alerts as code: every query runs on the span contract's columns, the
alerts fire when they should, and `provision` is idempotent against OpenObserve's API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from openrouter_openobserve import provision
from openrouter_openobserve.settings import SETTINGS
from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openobserve_search import check_sql
from tests.contract import contract_schema
from tests.harness import (
    ROOT,
    Collector,
    child_env,
    emulator_settings,
    run_scenarios,
    wait_for,
    write_env_file,
)
from tests.test_openobserve_emulator import post


@pytest.fixture
def release(every_release: str) -> str:
    """These tests run against every supported OpenObserve release."""
    return every_release


DASHBOARD = json.loads(
    (provision.DASHBOARDS_DIR / "openrouter-llm-traffic.json").read_text(encoding="utf-8")
)
PANELS = [panel for tab in DASHBOARD["tabs"] for panel in tab["panels"]]
ALERTS = {alert["name"]: alert for alert in provision.load_json(provision.ALERTS_DIR)}
HOUR_US = 3600 * 1_000_000


# The columns of the collector's own metric rows (otelcol_*), as the emulator stores the
# points a real collector pushes (openobserve_metrics).
SELF_METRIC_COLUMNS = {
    "_timestamp": pa.int64(),
    "value": pa.float64(),
    **{name: pa.string() for name in ("service_name", "service_instance_id", "exporter")},
    **{name: pa.string() for name in ("receiver", "transport", "data_type", "__name__")},
}


def test_every_panel_and_alert_query_runs_on_contract_columns_only() -> None:
    queries = [(q["query"], q["fields"]) for panel in PANELS for q in panel["queries"]]
    queries += [
        (alert["query_condition"]["sql"], {"stream": alert["stream_name"], **alert})
        for alert in ALERTS.values()
    ]
    assert len(queries) == len(PANELS) + len(ALERTS)
    for sql, fields in queries:
        # Planned by DataFusion (OpenObserve's engine) over a stream with exactly the
        # documented columns: a typo or an undocumented column fails here.
        if fields["stream_type"] == "traces":
            check_sql(sql, contract_schema(), "default")
        else:
            assert fields["stream"].startswith("otelcol_"), fields["stream"]
            check_sql(sql, SELF_METRIC_COLUMNS, fields["stream"])


def test_a_query_outside_the_contract_is_caught() -> None:
    with pytest.raises(ValueError, match="No field named llm_cost"):
        check_sql('SELECT SUM(llm_cost) FROM "default"', contract_schema(), "default")


def test_dashboard_covers_spend_latency_tokens_errors_and_rate_limits() -> None:
    titles = " | ".join(panel["title"] for panel in PANELS).lower()
    for topic in (
        "spend per model",
        "spend per upstream provider",
        "latency per model",
        "time to first token",
        "tokens in and out",
        "error rate",
        "errors by type and status",
        "free-tier rate-limit",
        "top expensive requests",
    ):
        assert topic in titles
    assert {panel["queries"][0]["fields"]["stream_type"] for panel in PANELS} == {
        "traces",
        "metrics",
    }


def readme_table(header: str) -> list[list[str]]:
    """The rows of the README table whose header line starts with `header`."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split(header, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in table]


def test_readme_lists_every_panel_and_alert() -> None:
    """The README's dashboard table names each tab and panel the dashboard has, in order, and
    its alert table each alert."""
    panels = [(tab["name"], p["title"]) for tab in DASHBOARD["tabs"] for p in tab["panels"]]
    assert [tuple(row[:2]) for row in readme_table("| tab | panel |")] == panels
    assert sorted(row[0] for row in readme_table("| alert | fires when |")) == sorted(ALERTS)


def settings_env(emulator: OpenObserveEmulator, tmp_path: Path, **extra: str) -> Path:
    return write_env_file(tmp_path / ".env", emulator_settings(emulator, **extra))


def run(command: Any, env_file: Path, *args: str) -> Any:
    return CliRunner().invoke(command, ["--env-file", str(env_file), *args])


def ingest_one_span(emulator: OpenObserveEmulator, org: str, stream: str) -> None:
    """One span, ingested as the collector would: it creates the org and the stream; and one
    report of the collector's queue size, which creates the metric stream of its alert."""
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id = bytes(range(16)), bytes(range(8))
    span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
    path = f"/api/{org}/v1/traces"
    body = request.SerializeToString()
    assert post(emulator, body, path=path, stream=stream, auth=emulator.ingest_token)[0] == 200
    point = {"_timestamp": span.start_time_unix_nano // 1000, "exporter": "otlp_http", "value": 0.0}
    emulator.ingest_metrics(org, [("otelcol_exporter_queue_size", point)])


@pytest.fixture
def acme(emulator: OpenObserveEmulator) -> OpenObserveEmulator:
    """Org `acme` after its first spans reached stream `llm_traces`."""
    ingest_one_span(emulator, "acme", "llm_traces")
    return emulator


@pytest.fixture
def with_destination(acme: OpenObserveEmulator) -> Iterator[OpenObserveEmulator]:
    acme.management.create_destination("acme", {"name": "oncall", "url": "http://x/"})
    yield acme


def writes(emulator: OpenObserveEmulator) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in emulator.requests
        if r.method in ("POST", "PUT") and not r.path.endswith("/traces")
    ]


def test_provisioning_twice_changes_nothing_the_second_time(
    with_destination: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = with_destination
    env_file = settings_env(emulator, tmp_path, ALERT_DESTINATION="oncall")
    first = run(provision.main, env_file)
    assert first.exit_code == 0, first.output
    assert first.output.count(": created") == 1 + len(ALERTS)
    stored = emulator.management.snapshot()
    assert len(stored["dashboards"]) == 1 and len(stored["alerts"]) == len(ALERTS)
    emulator.requests.clear()

    second = run(provision.main, env_file)
    assert second.exit_code == 0, second.output
    assert second.output.count(": unchanged") == 1 + len(ALERTS)
    assert writes(emulator) == []
    assert emulator.management.snapshot() == stored  # hashes and timestamps included


def test_provisioned_queries_read_the_configured_stream(
    with_destination: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = with_destination
    run(provision.main, settings_env(emulator, tmp_path, ALERT_DESTINATION="oncall"))
    stored = emulator.management.snapshot()
    (dashboard,) = stored["dashboards"].values()
    for tab in dashboard["content"]["tabs"]:
        for panel in tab["panels"]:
            query = panel["queries"][0]
            # Span queries read OPENOBSERVE_STREAM; a metric has a stream of its own name.
            stream = query["fields"]["stream"]
            assert stream == "llm_traces" or query["fields"]["stream_type"] == "metrics"
            assert f'FROM "{stream}"' in query["query"] and '"default"' not in query["query"]
    for alert in stored["alerts"].values():
        stream = alert["stream_name"]
        assert stream == "llm_traces" or alert["stream_type"] == "metrics"
        assert alert["destinations"] == ["oncall"]
        assert f'FROM "{stream}"' in alert["query_condition"]["sql"]


def test_a_changed_threshold_updates_only_that_alert(
    with_destination: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = with_destination
    run(provision.main, settings_env(emulator, tmp_path, ALERT_DESTINATION="oncall"))
    emulator.requests.clear()
    env_file = settings_env(
        emulator, tmp_path, ALERT_DESTINATION="oncall", ALERT_HOURLY_COST_USD="12.50"
    )
    result = run(provision.main, env_file)
    assert result.exit_code == 0, result.output
    assert "alert 'openrouter_hourly_cost': updated" in result.output
    assert result.output.count(": unchanged") == len(ALERTS)
    assert len(writes(emulator)) == 1
    (cost,) = [
        a for a in emulator.management.alerts.values() if a["name"] == "openrouter_hourly_cost"
    ]
    assert cost["query_condition"]["sql"].endswith("HAVING cost_usd > 12.50")


def test_a_dashboard_edited_in_openobserve_is_put_back(
    acme: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = acme
    env_file = settings_env(emulator, tmp_path)
    run(provision.main, env_file)
    ((_, stored),) = emulator.management.dashboards.items()
    stored["content"]["tabs"][0]["panels"][0]["title"] = "renamed by hand"
    result = run(provision.main, env_file)
    assert "dashboard 'OpenRouter LLM traffic': updated" in result.output
    assert stored["content"]["tabs"][0]["panels"][0]["title"] == PANELS[0]["title"]


def test_dry_run_writes_nothing(with_destination: OpenObserveEmulator, tmp_path: Path) -> None:
    emulator = with_destination
    result = run(
        provision.main, settings_env(emulator, tmp_path, ALERT_DESTINATION="oncall"), "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert result.output.count(": would be created") == 1 + len(ALERTS)
    assert writes(emulator) == []


def test_without_a_destination_only_the_dashboard_is_provisioned(
    acme: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = acme
    result = run(provision.main, settings_env(emulator, tmp_path))
    assert result.exit_code == 0, result.output
    assert "dashboard 'OpenRouter LLM traffic': created" in result.output
    assert "alerts skipped: set ALERT_DESTINATION" in result.output
    assert emulator.management.alerts == {}


def test_an_unknown_destination_stops_before_anything_is_written(
    with_destination: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = with_destination
    result = run(provision.main, settings_env(emulator, tmp_path, ALERT_DESTINATION="pager"))
    assert result.exit_code == 1
    assert result.output.strip() == (
        "provision: ALERT_DESTINATION 'pager' is not an alert destination in org 'acme' "
        "(it has: oncall); create it under Management > Alert Destinations"
    )
    assert writes(emulator) == []


def test_wrong_credentials_and_bad_settings_are_one_line_errors(
    emulator: OpenObserveEmulator, tmp_path: Path
) -> None:
    wrong = settings_env(
        emulator,
        tmp_path,
        OPENOBSERVE_API_TOKEN="Basic amFuZUBleGFtcGxlLmNvbTp3cm9uZy1wYXNzd29yZA==",
    )
    result = run(provision.main, wrong)
    assert result.exit_code == 1
    assert result.output == (
        "provision: OpenObserve answered 401 to GET /api/acme/dashboards: Unauthorized Access\n"
    )
    bad = settings_env(emulator, tmp_path, ALERT_HOURLY_COST_USD="-3")
    result = run(provision.main, bad)
    assert result.exit_code == 2
    assert result.output.startswith("provision: ALERT_HOURLY_COST_USD: expected a positive")
    assert len(result.output.splitlines()) == 1


def test_a_first_run_provisions_the_alerts_once_the_first_spans_land(
    emulator: OpenObserveEmulator, tmp_path: Path
) -> None:
    """What compose's one-shot `provision --wait` meets on a first `up`: the org exists, the
    destination too, the stream not yet. The dashboard goes in at once, the alerts when the
    collector's first spans have landed; no manual step."""
    emulator.management.create_destination("default", {"name": "oncall", "url": "http://x/"})
    env = emulator_settings(
        emulator,
        OPENOBSERVE_ORG="default",
        ALERT_DESTINATION="oncall",
        COLLECTOR_TELEMETRY_INTERVAL_S="1",
    )
    env_file = write_env_file(tmp_path / ".env", env)
    command = [str(Path(sys.executable).parent / "provision"), "--env-file", str(env_file)]
    with subprocess.Popen(
        [*command, "--wait", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(),
    ) as provisioning:
        wait_for(
            lambda: any(r.status == 404 and "alerts" in r.path for r in emulator.requests),
            timeout_s=30,
            what="an alert refused for want of data",
        )
        collector = Collector(tmp_path / "collector", env).start()
        try:
            run_scenarios(emulator, collector, ["chat"])
        finally:
            collector.stop()
        stdout, stderr = provisioning.communicate(timeout=60)
    assert provisioning.returncode == 0, stdout + stderr
    assert "deferred: its stream has no data yet" in stdout
    assert stdout.count(": created") == 1 + len(ALERTS), stdout
    stored = emulator.management.snapshot()
    assert len(stored["dashboards"]) == 1 and len(stored["alerts"]) == len(ALERTS)


def test_a_new_org_is_provisioned_after_its_first_ingestion(
    emulator: OpenObserveEmulator, tmp_path: Path
) -> None:
    """An org other than `default` answers 404 until its first spans create it."""
    env_file = settings_env(emulator, tmp_path, OPENOBSERVE_ORG="neworg")
    first = run(provision.main, env_file)
    assert first.exit_code == 3, first.output
    assert "dashboard 'OpenRouter LLM traffic': deferred: the org does not exist" in first.output
    ingest_one_span(emulator, "neworg", "llm_traces")
    second = run(provision.main, env_file)
    assert second.exit_code == 0, second.output
    assert "dashboard 'OpenRouter LLM traffic': created" in second.output


def test_shipped_thresholds_match_the_settings_defaults() -> None:
    defaults = {setting.key: setting.default for setting in SETTINGS}
    for name, key in provision.THRESHOLD_SETTINGS.items():
        assert ALERTS[name]["query_condition"]["sql"].endswith(f"> {float(defaults[key])}")


# --- the alerts fire when they should -----------------------------------------------------


def span(at_us: int, **columns: Any) -> dict[str, Any]:
    return {
        "_timestamp": at_us,
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openrouter",
        "gen_ai_request_model": "openai/gpt-4o-mini",
        "span_status": "OK",
        "duration": 1000_000,
        "openrouter_cost_status": "reported",
        **columns,
    }


def fires(emulator: OpenObserveEmulator, name: str, **settings: str) -> list[dict[str, Any]]:
    """The rows the provisioned alert's query returns over its period (it fires on any)."""
    values = {"OPENOBSERVE_STREAM": "llm", "ALERT_DESTINATION": "oncall", **settings}
    values.setdefault("ALERT_HOURLY_COST_USD", "5")
    values.setdefault("ALERT_USER_HOURLY_COST_USD", "1")
    values.setdefault("ALERT_BACKLOG_ITEMS", "10000")
    (alert,) = [a for a in provision.desired_alerts(values) if a["name"] == name]
    now = int(time.time() * 1e6)
    period_us = alert["trigger_condition"]["period"] * 60 * 1_000_000
    query = {"sql": alert["query_condition"]["sql"], "start_time": now - period_us, "end_time": now}
    return emulator.search("acme", query)["hits"]


def test_hourly_cost_alert_fires_above_the_threshold_only(emulator: OpenObserveEmulator) -> None:
    now = int(time.time() * 1e6)
    emulator.ingest(
        "acme", "llm", [span(now - 60_000_000 * m, gen_ai_usage_cost="1.5") for m in range(4)]
    )
    emulator.ingest("acme", "llm", [span(now - 2 * HOUR_US, gen_ai_usage_cost="100")])  # too old
    assert fires(emulator, "openrouter_hourly_cost", ALERT_HOURLY_COST_USD="5.99")[0] == {
        "cost_usd": 6.0,
        "requests": 4,
    }
    assert fires(emulator, "openrouter_hourly_cost", ALERT_HOURLY_COST_USD="6") == []


def test_error_rate_alert_needs_a_spike_over_enough_calls(emulator: OpenObserveEmulator) -> None:
    now = int(time.time() * 1e6)
    calm = [span(now - 1000 * i, span_status="ERROR" if i < 2 else "OK") for i in range(40)]
    emulator.ingest("acme", "llm", calm)  # 5% errors
    assert fires(emulator, "openrouter_error_rate_spike") == []
    emulator.ingest("acme", "llm", [span(now - 1000 * i, span_status="ERROR") for i in range(10)])
    (row,) = fires(emulator, "openrouter_error_rate_spike")  # 12 of 50: 24%
    assert row["requests"] == 50 and row["error_rate_percent"] == pytest.approx(24.0)


def test_latency_alert_fires_on_a_regression_against_the_day_before(
    emulator: OpenObserveEmulator,
) -> None:
    now = int(time.time() * 1e6)
    before = [span(now - 3 * HOUR_US - i, duration=200_000) for i in range(50)]
    recent = [span(now - 60_000_000 - i, duration=250_000) for i in range(10)]
    emulator.ingest("acme", "llm", before + recent)
    assert fires(emulator, "openrouter_p95_latency_regression") == []  # 1.25x: normal
    emulator.ingest(
        "acme", "llm", [span(now - 30_000_000 - i, duration=900_000) for i in range(10)]
    )
    (row,) = fires(emulator, "openrouter_p95_latency_regression")
    assert row["model"] == "openai/gpt-4o-mini" and row["recent_requests"] == 20
    assert row["p95_before_ms"] == pytest.approx(200.0)


def test_user_spend_alert_names_the_user_above_the_threshold(
    emulator: OpenObserveEmulator,
) -> None:
    now = int(time.time() * 1e6)
    spend = [span(now - 60_000_000 * m, gen_ai_usage_cost="0.5", user_id="ann") for m in range(3)]
    spend += [span(now - 60_000_000, gen_ai_usage_cost="0.9", user_id="bob")]
    spend += [span(now - 60_000_000, gen_ai_usage_cost="9", user_id=None)]  # no user: not here
    emulator.ingest("acme", "llm", spend)
    assert fires(emulator, "openrouter_user_hourly_cost", ALERT_USER_HOURLY_COST_USD="1") == [
        {"user": "ann", "cost_usd": 1.5, "requests": 3}
    ]
    assert fires(emulator, "openrouter_user_hourly_cost", ALERT_USER_HOURLY_COST_USD="1.5") == []


def test_two_provisions_at_once_leave_one_of_each(
    with_destination: OpenObserveEmulator, tmp_path: Path
) -> None:
    """Compose's provision and a manual one, together: both list before either creates
    (the emulator holds the first lists until both came), and OpenObserve, like the emulator,
    takes a second alert of the same name."""
    emulator = with_destination
    env_file = settings_env(emulator, tmp_path, ALERT_DESTINATION="oncall")
    emulator.management.hold_first_lists(2)
    command = [
        sys.executable,
        "-m",
        "openrouter_openobserve.cli",
        "provision",
        "--env-file",
        str(env_file),
    ]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("created" in output for output in outputs)  # both did create: a real race
    alerts = Counter(a["name"] for a in emulator.management.list_alerts("acme")["list"])
    dashboards = Counter(
        d["title"]
        for d in emulator.management.list_dashboards("acme", "default", None)["dashboards"]
    )
    assert set(alerts.values()) == {1}
    assert set(alerts) == {alert["name"] for alert in provision.load_json(provision.ALERTS_DIR)}
    assert set(dashboards.values()) == {1}


def test_the_lag_panel_reads_the_ingest_time_where_openobserve_writes_it(
    acme: OpenObserveEmulator, tmp_path: Path, release: str
) -> None:
    assert run(provision.main, settings_env(acme, tmp_path)).exit_code == 0
    (listed,) = acme.management.list_dashboards("acme", "default", None)["dashboards"]
    stored = acme.management.get_dashboard("acme", listed["dashboard_id"])["v5"]
    (lag,) = [
        panel
        for tab in stored["tabs"]
        for panel in tab["panels"]
        if panel["title"] == "Delivery lag per service (minutes)"
    ]
    sql = lag["queries"][0]["query"]
    assert ("_o2_ingest_ts" in sql) == genai.RELEASES[release].ingest_ts
    hits = acme.search("acme", {"sql": sql, "start_time": 0, "end_time": 2**62})["hits"]
    assert len(hits) == 1 and isinstance(hits[0]["y_axis_1"], float)
