"""Billed spend, whatever OpenObserve's GenAI processor does to the rows.

OpenObserve writes its own `gen_ai_usage_cost` where no cost was reported (and v0.91.5 also
over a reported 0). In both of its behaviours, the dashboard's spend panels, the hourly-cost
alert and `report` must sum exactly what OpenRouter billed, and a failed call must not get
an estimated spend, even when its content reaches OpenObserve (`CONTENT_POLICY=full`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openrouter_openobserve import provision, report
from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import Collector, ScenarioRun, emulator_settings, run_scenarios, write_env_file

# A free variant of a model OpenObserve prices, BYOK, a stream and a failed call.
TRAFFIC = ["chat", "stream", "byok", "free_model", "free_priced_model", "error_429"]
Traffic = tuple[str, OpenObserveEmulator, ScenarioRun]


@pytest.fixture(scope="module", params=list(genai.RELEASES))
def traffic(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traffic]:
    with OpenObserveEmulator(release=request.param) as emulator:
        env = emulator_settings(emulator, CONTENT_POLICY="full")
        collector = Collector(tmp_path_factory.mktemp("collector"), env).start()
        try:
            run = run_scenarios(emulator, collector, TRAFFIC)
        finally:
            collector.stop()
        yield request.param, emulator, run


def billed(run: ScenarioRun) -> float:
    """What the simulator billed, from its own answers."""
    return sum(response["usage"]["cost"] for _, response in run.responses() if "usage" in response)


def search(emulator: OpenObserveEmulator, sql: str, start_us: int = 0) -> list[dict[str, Any]]:
    query = {"sql": sql, "start_time": start_us, "end_time": int(time.time() * 1e6) + 1}
    return emulator.search("acme", query)["hits"]


def test_openobserve_prices_what_was_not_billed(traffic: Traffic) -> None:
    """The premise: on v0.91.5 the raw column holds an estimate for a call billed $0."""
    mode, _emulator, run = traffic
    free = run.llm_row("free_priced_model")
    assert free["openrouter_cost_status"] == "reported_zero"
    raw = sum(row.get("gen_ai_usage_cost", 0.0) for row in run.call_rows())
    if genai.RELEASES[mode].overwrites_usage:
        assert free["gen_ai_usage_cost"] > 0 and raw > billed(run)
    else:
        assert free["gen_ai_usage_cost"] == 0.0 and raw == pytest.approx(billed(run), rel=1e-9)


def test_a_failed_call_gets_no_estimated_spend(traffic: Traffic) -> None:
    _, _, run = traffic
    failed = run.llm_row("error_429")
    assert failed["openrouter_cost_status"] == "not_reported"
    assert failed["gen_ai_usage_input_tokens"] == 0 and failed["gen_ai_usage_cost"] == 0.0
    assert "fail" in failed["openrouter_error_input"]  # the request is kept, renamed
    assert "openrouter_error_output" not in failed  # a refused call has no response to keep
    assert "gen_ai_input_messages" not in failed
    assert "gen_ai_input_messages" in run.llm_row("chat")  # moved there by OpenObserve


def test_report_sums_billed_spend(traffic: Traffic, tmp_path: Path) -> None:
    _, emulator, run = traffic
    env_file = write_env_file(tmp_path / ".env", emulator_settings(emulator))
    result = CliRunner().invoke(
        report.main, ["--env-file", str(env_file), "--since", "1h", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    spend = sum(row["spend_usd"] or 0.0 for row in json.loads(result.output))
    assert spend == pytest.approx(billed(run), rel=1e-9)


def test_dashboard_spend_panels_sum_billed_spend(traffic: Traffic) -> None:
    _, emulator, run = traffic
    (dashboard,) = provision.desired_dashboards("llm_traces")
    spend_columns = {
        "Spend per model (USD)": "y_axis_1",
        "Spend per upstream provider (USD)": "y_axis_1",
        "Requests per model and provider": "y_axis_5",
        "Top expensive requests": "y_axis_3",
    }
    panels = {p["title"]: p for tab in dashboard["tabs"] for p in tab["panels"]}
    for title, column in spend_columns.items():
        hits = search(emulator, panels[title]["queries"][0]["query"])
        assert sum(hit[column] or 0.0 for hit in hits) == pytest.approx(billed(run), rel=1e-9), (
            title
        )


def test_hourly_cost_alert_sums_billed_spend(traffic: Traffic) -> None:
    _, emulator, run = traffic
    settings = {"OPENOBSERVE_STREAM": "llm_traces", "ALERT_DESTINATION": "oncall"}
    alerts = provision.desired_alerts(
        {
            **settings,
            "ALERT_HOURLY_COST_USD": "0.000001",
            "ALERT_USER_HOURLY_COST_USD": "1",
            "ALERT_BACKLOG_ITEMS": "1",
        }
    )
    (alert,) = [a for a in alerts if a["name"] == "openrouter_hourly_cost"]
    now = int(time.time() * 1e6)
    (hit,) = search(emulator, alert["query_condition"]["sql"], now - 3_600_000_000)
    assert hit["cost_usd"] == pytest.approx(billed(run), rel=1e-9)
