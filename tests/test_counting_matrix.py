"""Each OpenRouter HTTP request is one counted row whatever the stack: real client
instrumentations (OpenInference, OpenTelemetry's, Traceloop's, none) under real frameworks
(Pydantic AI and Semantic Kernel, which emit GenAI-convention spans of their own; smolagents
and the OpenAI Agents SDK, instrumented by OpenInference), all through one real collector.
The rows, the derived request metric and `report --by service` count each request once;
framework spans keep their attributes and get no OpenRouter column. A failed call to
another host is not OpenRouter's, whatever model it named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from openrouter_openobserve import report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import Collector, emulator_settings, run_test_app, wait_for, write_env_file
from tests.package_envs import frameworks_python

STACKS = [
    *[("openinference", f) for f in ("none", "pydantic-ai", "semantic-kernel")],
    *[("openinference", f) for f in ("smolagents", "openai-agents")],
    *[
        (c, f)
        for c in ("otel-genai", "traceloop")
        for f in ("none", "pydantic-ai", "semantic-kernel")
    ],
    *[("none", f) for f in ("pydantic-ai", "semantic-kernel", "openai-agents")],
    ("none", "pydantic-ai-openinference"),
]


def run_stack(collector: Collector, client: str, framework: str) -> dict[str, int]:
    python, endpoint = str(frameworks_python()), collector.otlp_grpc_endpoint
    home = str(collector.workdir)  # where a framework may write its caches
    return run_test_app("counting_app", [client, framework], endpoint, python, HOME=home)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Every stack's app through one collector; each stack is a service of its own."""
    with OpenObserveEmulator() as emulator:
        workdir = tmp_path_factory.mktemp("counting")
        collector = Collector(workdir, emulator_settings(emulator)).start()
        try:
            sent = {f"{c}+{f}": run_stack(collector, c, f) for c, f in STACKS}
            sent["otel-genai+elsewhere"] = run_stack(collector, "otel-genai", "elsewhere")
            openrouter = sum(s["answered"] + s["refused"] for s in sent.values()) - 1

            def stored() -> list[dict[str, Any]] | None:
                rows = emulator.rows("llm_traces", org="acme")
                calls = [r for r in rows if r.get("gen_ai_provider_name") == "openrouter"]
                services = {r["service_name"] for r in rows}
                done = len(calls) >= openrouter and "otel-genai+elsewhere" in services
                return rows if done else None

            rows = wait_for(stored, timeout_s=60, what="every stack's calls")
            yield emulator, collector, sent, rows
        finally:
            collector.stop()


def by_service(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    services: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("gen_ai_provider_name") == "openrouter":
            services.setdefault(row["service_name"], []).append(row)
    return services


@pytest.mark.parametrize("stack", [f"{c}+{f}" for c, f in STACKS])
def test_each_request_is_one_counted_row(traffic: Any, stack: str) -> None:
    _, _, sent, rows = traffic
    calls = by_service(rows).get(stack, [])
    assert sent[stack] == {"answered": 2, "refused": 1}
    assert len(calls) == 3, stack
    assert [row["span_status"] for row in calls].count("ERROR") == 1, stack


def test_framework_spans_get_no_openrouter_column(traffic: Any) -> None:
    _, _, _, rows = traffic
    for row in rows:
        labelled = [column for column in row if column.startswith("openrouter_")]
        assert (row.get("gen_ai_provider_name") == "openrouter") == bool(labelled), row


def test_a_failed_call_to_another_host_is_not_openrouters(traffic: Any) -> None:
    _, _, sent, rows = traffic
    assert sent["otel-genai+elsewhere"] == {"answered": 0, "refused": 1}
    (elsewhere,) = [row for row in rows if row["service_name"] == "otel-genai+elsewhere"]
    assert elsewhere["server_address"] == "0.0.0.0"
    assert elsewhere["gen_ai_request_model"] == "anthropic/claude-3.5-haiku"
    assert elsewhere.get("gen_ai_provider_name") != "openrouter"
    assert "elsewhere" not in " ".join(by_service(rows))


def test_derived_metrics_and_report_count_each_request_once(traffic: Any, tmp_path: Path) -> None:
    emulator, collector, sent, _ = traffic
    expected = {stack: 3 for stack in sent if not stack.endswith("elsewhere")}

    def requests_metric() -> dict[str, float] | None:
        totals: dict[str, float] = {}
        for row in emulator.metric_rows("openrouter_requests", org="acme"):
            totals[row["service_name"]] = totals.get(row["service_name"], 0) + row["value"]
        return totals if sum(totals.values()) >= sum(expected.values()) else None

    assert wait_for(requests_metric, what="the request metric") == expected
    env_file = write_env_file(tmp_path / ".env", collector.env)
    arguments = ["--env-file", str(env_file), "--by", "service", "--format", "json"]
    result = CliRunner().invoke(report.main, arguments)
    assert result.exit_code == 0, result.output
    assert {row["service"]: row["requests"] for row in json.loads(result.stdout)} == expected
