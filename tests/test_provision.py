"""Dashboards and alerts as code: every query runs on the span contract's columns, the
alerts fire when they should, and `provision` is idempotent against OpenObserve's API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scripts import provision
from scripts.settings import SETTINGS
from tests.contract import contract_schema
from tests.harness import emulator_settings, write_env_file
from tests.openobserve_emulator import OpenObserveEmulator
from tests.openobserve_search import check_sql

DASHBOARD = json.loads(
    (provision.DASHBOARDS_DIR / "openrouter-llm-traffic.json").read_text(encoding="utf-8")
)
PANELS = [panel for tab in DASHBOARD["tabs"] for panel in tab["panels"]]
ALERTS = {alert["name"]: alert for alert in provision.load_json(provision.ALERTS_DIR)}
HOUR_US = 3600 * 1_000_000


def test_every_panel_and_alert_query_runs_on_contract_columns_only() -> None:
    queries = [q["query"] for panel in PANELS for q in panel["queries"]]
    queries += [alert["query_condition"]["sql"] for alert in ALERTS.values()]
    assert len(queries) == len(PANELS) + 3
    for sql in queries:
        # Planned by DataFusion (OpenObserve's engine) over a stream with exactly the
        # documented columns: a typo or an undocumented column fails here.
        check_sql(sql, contract_schema(), "default")


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
    assert {panel["queries"][0]["fields"]["stream_type"] for panel in PANELS} == {"traces"}


def settings_env(emulator: OpenObserveEmulator, tmp_path: Path, **extra: str) -> Path:
    return write_env_file(tmp_path / ".env", emulator_settings(emulator, **extra))


def run(command: Any, env_file: Path, *args: str) -> Any:
    return CliRunner().invoke(command, ["--env-file", str(env_file), *args])


@pytest.fixture
def with_destination(emulator: OpenObserveEmulator) -> Iterator[OpenObserveEmulator]:
    emulator.management.create_destination("acme", {"name": "oncall", "url": "http://x/"})
    yield emulator


def writes(emulator: OpenObserveEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method in ("POST", "PUT")]


def test_provisioning_twice_changes_nothing_the_second_time(
    with_destination: OpenObserveEmulator, tmp_path: Path
) -> None:
    emulator = with_destination
    env_file = settings_env(emulator, tmp_path, ALERT_DESTINATION="oncall")
    first = run(provision.main, env_file)
    assert first.exit_code == 0, first.output
    assert first.output.count(": created") == 4
    stored = emulator.management.snapshot()
    assert len(stored["dashboards"]) == 1 and len(stored["alerts"]) == 3
    emulator.requests.clear()

    second = run(provision.main, env_file)
    assert second.exit_code == 0, second.output
    assert second.output.count(": unchanged") == 4
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
            assert 'FROM "llm_traces"' in query["query"] and '"default"' not in query["query"]
            assert query["fields"]["stream"] == "llm_traces"
    for alert in stored["alerts"].values():
        assert alert["stream_name"] == "llm_traces"
        assert alert["destinations"] == ["oncall"]
        assert 'FROM "llm_traces"' in alert["query_condition"]["sql"]


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
    assert result.output.count(": unchanged") == 3
    assert len(writes(emulator)) == 1
    (cost,) = [a for a in emulator.management.alerts.values() if a["name"].endswith("cost")]
    assert cost["query_condition"]["sql"].endswith("HAVING cost_usd > 12.50")


def test_a_dashboard_edited_in_openobserve_is_put_back(
    emulator: OpenObserveEmulator, tmp_path: Path
) -> None:
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
    assert result.output.count(": would be created") == 4
    assert writes(emulator) == []


def test_without_a_destination_only_the_dashboard_is_provisioned(
    emulator: OpenObserveEmulator, tmp_path: Path
) -> None:
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
        OPENOBSERVE_AUTH_TOKEN="Basic amFuZUBleGFtcGxlLmNvbTp3cm9uZy1wYXNzd29yZA==",
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


def test_shipped_thresholds_match_the_settings_defaults() -> None:
    defaults = {setting.key: setting.default for setting in SETTINGS}
    for name, key in provision.THRESHOLD_SETTINGS.items():
        assert ALERTS[name]["query_condition"]["sql"].endswith(f"> {float(defaults[key])}")


# --- the alerts fire when they should -----------------------------------------------------


def span(at_us: int, **columns: Any) -> dict[str, Any]:
    return {
        "_timestamp": at_us,
        "gen_ai_operation_name": "chat",
        "gen_ai_request_model": "openai/gpt-4o-mini",
        "span_status": "OK",
        "duration": 1000_000,
        **columns,
    }


def fires(emulator: OpenObserveEmulator, name: str, **settings: str) -> list[dict[str, Any]]:
    """The rows the provisioned alert's query returns over its period (it fires on any)."""
    values = {"OPENOBSERVE_STREAM": "llm", "ALERT_DESTINATION": "oncall", **settings}
    values.setdefault("ALERT_HOURLY_COST_USD", "5")
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
