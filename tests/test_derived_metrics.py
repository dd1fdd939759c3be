"""Metrics derived from the LLM spans in the collector arrive at OpenObserve's OTLP metrics
endpoint with the right values: requests, latency, time to first token, tokens and spend
per requested model and upstream provider."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ScenarioRun

Series = tuple[str, str, str]  # requested model, provider, error type


def series_of(row: dict[str, Any], with_error: bool = True) -> Series:
    return (
        row["gen_ai_request_model"],
        row.get("openrouter_provider") or "none",
        (row.get("error_type") or "none") if with_error else "",
    )


def totals(
    emulator: OpenObserveEmulator, stream: str, with_error: bool = True
) -> dict[Series, float]:
    sums: dict[Series, float] = defaultdict(float)
    for row in emulator.metric_rows(stream, org="acme"):
        sums[series_of(row, with_error)] += row["value"]
    return dict(sums)


def token_totals(emulator: OpenObserveEmulator, token_type: str) -> dict[Series, float]:
    """gen_ai.client.token.usage's sums of one `gen_ai.token.type`, per model and provider."""
    sums: dict[Series, float] = defaultdict(float)
    for row in emulator.metric_rows("gen_ai_client_token_usage_sum", org="acme"):
        if row["gen_ai_token_type"] == token_type:
            sums[series_of(row, with_error=False)] += row["value"]
    return dict(sums)


def by_model(run: ScenarioRun, value: Callable[[dict[str, Any]], float]) -> dict[Series, float]:
    sums: dict[Series, float] = defaultdict(float)
    for model, response in run.responses():
        if "usage" in response:
            sums[(model, response["provider"], "")] += value(response)
    return dict(sums)


def test_requests_are_counted_per_model_provider_and_error(llm_traffic: Any) -> None:
    emulator, run = llm_traffic
    expected = Counter(series_of(row) for row in run.call_rows())
    failed = [series for series in expected if series[2] != "none"]
    assert len(failed) == 2 and {provider for _, provider, _ in failed} == {"none"}
    assert totals(emulator, "openrouter_requests") == expected
    assert totals(emulator, "gen_ai_client_operation_duration_count") == expected


def test_latency_histogram_sums_the_span_durations(llm_traffic: Any) -> None:
    emulator, run = llm_traffic
    expected: dict[Series, float] = defaultdict(float)
    for row in run.call_rows():
        expected[series_of(row)] += (row["end_time"] - row["start_time"]) / 1e9
    got = totals(emulator, "gen_ai_client_operation_duration_sum")
    assert got.keys() == expected.keys()
    for series, seconds in expected.items():
        assert got[series] == pytest.approx(seconds, rel=1e-9), series
    buckets = emulator.metric_rows("gen_ai_client_operation_duration_bucket", org="acme")
    assert {row["le"] for row in buckets} >= {"0.01", "81.92", "inf"}


def test_tokens_and_spend_match_what_openrouter_billed(llm_traffic: Any) -> None:
    emulator, run = llm_traffic
    prompt = by_model(run, lambda r: r["usage"]["prompt_tokens"])
    completion = by_model(run, lambda r: r["usage"]["completion_tokens"])
    cost = by_model(run, lambda r: r["usage"]["cost"])
    assert token_totals(emulator, "input") == prompt
    assert token_totals(emulator, "output") == completion
    got_cost = totals(emulator, "gen_ai_usage_cost", with_error=False)
    assert got_cost.keys() == cost.keys()
    for series, usd in cost.items():
        assert got_cost[series] == pytest.approx(usd, rel=1e-9), series
    assert sum(cost.values()) > 0


def test_time_to_first_token_only_for_streams(llm_traffic: Any) -> None:
    emulator, run = llm_traffic
    (stream_row,) = [
        row for row in run.call_rows() if row.get("gen_ai_response_time_to_first_chunk")
    ]
    series = series_of(stream_row, with_error=False)
    assert totals(emulator, "gen_ai_client_operation_time_to_first_chunk_count", False) == {
        series: 1.0
    }
    (ttft,) = emulator.metric_rows("gen_ai_client_operation_time_to_first_chunk_sum", "acme")
    assert ttft["value"] == pytest.approx(float(stream_row["gen_ai_response_time_to_first_chunk"]))


def test_metric_rows_carry_service_and_delta_temporality(llm_traffic: Any) -> None:
    emulator, _ = llm_traffic
    rows = emulator.metric_rows("openrouter_requests", org="acme")
    assert {row["service_name"] for row in rows} == {"scenarios"}
    assert {row["aggregation_temporality"] for row in rows} == {"AGGREGATION_TEMPORALITY_DELTA"}
    assert {row["deployment_environment_name"] for row in rows} == {"development"}


def test_token_usage_histogram_follows_the_genai_conventions(llm_traffic: Any) -> None:
    emulator, run = llm_traffic
    billed = [r for r in run.call_rows() if r.get("gen_ai_usage_input_tokens") is not None]
    expected = {
        "input": sum(int(r["gen_ai_usage_input_tokens"]) for r in billed),
        "output": sum(int(r["gen_ai_usage_output_tokens"]) for r in billed),
    }
    got: dict[str, float] = defaultdict(float)
    for row in emulator.metric_rows("gen_ai_client_token_usage_sum", org="acme"):
        got[row["gen_ai_token_type"]] += row["value"]
    assert got == expected
    buckets = emulator.metric_rows("gen_ai_client_token_usage_bucket", org="acme")
    assert {row["le"] for row in buckets} >= {"1", "4", "16", "67108864", "inf"}
