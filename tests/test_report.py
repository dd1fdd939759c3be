"""`report` prints the right figures for a known set of calls, read back from OpenObserve's
search API; and the dashboard's panels answer on the same real traffic."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openrouter_openobserve import provision, report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ScenarioRun, emulator_settings, write_env_file

Group = tuple[str, str | None]  # requested model, provider


def env_file(emulator: OpenObserveEmulator, tmp_path: Path, stream: str = "llm_traces") -> Path:
    values = emulator_settings(emulator, OPENOBSERVE_STREAM=stream)
    return write_env_file(tmp_path / ".env", values)


def run_report(emulator: OpenObserveEmulator, tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(report.main, ["--env-file", str(env_file(emulator, tmp_path)), *args])


def expected_groups(run: ScenarioRun) -> dict[Group, dict[str, Any]]:
    """What the report must say, from the simulator's answers and the stored spans."""
    groups: dict[Group, dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "errors": 0, "in": 0, "out": 0, "usd": None, "durations": []}
    )
    for model, response in run.responses():
        group = groups[(model, response.get("provider"))]
        group["requests"] += 1
        if "usage" in response:
            group["in"] += response["usage"]["prompt_tokens"]
            group["out"] += response["usage"]["completion_tokens"]
            group["usd"] = (group["usd"] or 0.0) + response["usage"]["cost"]
        else:
            group["errors"] += 1
    for row in run.call_rows():
        key = (row["gen_ai_request_model"], row.get("openrouter_provider"))
        groups[key]["durations"].append(row["duration"] / 1000)
        if row.get("gen_ai_response_time_to_first_chunk"):
            groups[key]["ttft"] = float(row["gen_ai_response_time_to_first_chunk"])
    return dict(groups)


def test_report_prints_the_right_figures(llm_traffic: Any, tmp_path: Path) -> None:
    emulator, run = llm_traffic
    result = run_report(emulator, tmp_path, "--since", "1h", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {(row["model"], row["provider"]): row for row in json.loads(result.output)}
    expected = expected_groups(run)
    assert rows.keys() == expected.keys()
    for key, want in expected.items():
        got = rows[key]
        assert (got["requests"], got["errors"]) == (want["requests"], want["errors"]), key
        assert got["error_rate"] == pytest.approx(100 * want["errors"] / want["requests"])
        if want["usd"] is not None:
            assert (got["input_tokens"], got["output_tokens"]) == (want["in"], want["out"]), key
            assert got["spend_usd"] == pytest.approx(want["usd"], rel=1e-9), key
        else:  # failed calls: no tokens, no spend, never a silent 0
            assert got["spend_usd"] is None and got["input_tokens"] is None
        durations = sorted(want["durations"])
        assert durations[0] <= got["p50_ms"] <= got["p95_ms"] <= durations[-1], key
        if len(durations) == 1:
            assert got["p50_ms"] == got["p95_ms"] == pytest.approx(durations[0])
        else:  # two calls of different durations: the median between them, p95 near the top
            assert got["p50_ms"] < got["p95_ms"], key
        assert got["ttft_p50_s"] == pytest.approx(want.get("ttft")), key
    # Most expensive first; the failures (no spend) last.
    assert [row["spend_usd"] for row in rows.values()][-1] is None


def test_report_table_and_csv(llm_traffic: Any, tmp_path: Path) -> None:
    emulator, run = llm_traffic
    table = run_report(emulator, tmp_path)
    assert table.exit_code == 0, table.output
    header, *lines = table.output.splitlines()
    assert header.split()[:4] == ["model", "provider", "requests", "errors"]
    assert len(lines) == len(expected_groups(run))
    failed = next(line for line in lines if line.startswith("mistralai/"))
    assert failed.split()[1:5] == ["-", "2", "2", "100.0"]
    csv_out = run_report(emulator, tmp_path, "--format", "csv")
    assert csv_out.output.splitlines()[0].startswith("model,provider,requests,errors,error_rate")


def test_report_window_and_bad_input(llm_traffic: Any, tmp_path: Path) -> None:
    emulator, _ = llm_traffic
    earlier = run_report(emulator, tmp_path, "--since", "3h", "--until", "2h")
    assert earlier.exit_code == 0
    assert "no LLM requests in stream 'llm_traces' between 3h and 2h" in earlier.output
    bad = run_report(emulator, tmp_path, "--since", "yesterday")
    assert bad.exit_code == 2
    assert bad.output == (
        "report: --since: 'yesterday': expected a duration ago (90m, 24h, 7d), 'now' or an "
        "ISO-8601 time\n"
    )
    backwards = run_report(emulator, tmp_path, "--since", "1h", "--until", "2h")
    assert backwards.exit_code == 2 and "is not before" in backwards.output


def test_report_on_a_stream_without_data(emulator: OpenObserveEmulator, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        report.main, ["--env-file", str(env_file(emulator, tmp_path, "empty")), "--format", "json"]
    )
    assert result.exit_code == 0 and json.loads(result.output) == []


# The collector reports permanent send failures only once there are some.
QUIET_STREAMS = ("otelcol_exporter_send_failed_spans",)


@pytest.mark.parametrize("ingest_time", [False, True], ids=["v0.91.5 queries", "v0.92 queries"])
def test_every_dashboard_panel_answers_on_real_traffic(llm_traffic: Any, ingest_time: bool) -> None:
    emulator, _ = llm_traffic
    (dashboard,) = provision.desired_dashboards("llm_traces", ingest_time)
    for tab in dashboard["tabs"]:
        for panel in tab["panels"]:
            fields = panel["queries"][0]["fields"]
            query = {"sql": panel["queries"][0]["query"], "start_time": 0, "end_time": 2**62}
            if fields["stream"] in QUIET_STREAMS:  # healthy traffic does not create it
                assert not emulator.stream_exists("acme", fields["stream"], "metrics")
                continue
            hits = emulator.search("acme", query, fields["stream_type"])["hits"]
            if panel["title"] != "Free-tier rate-limit hits":  # the traffic has none
                assert hits, panel["title"]
            for hit in hits:  # the columns the panel's axes name
                fields = panel["queries"][0]["fields"]
                axes = fields["x"] + fields["y"] + fields.get("breakdown", [])
                assert set(hit) == {axis["alias"] for axis in axes}, panel["title"]
