"""A user's own OpenInference app with the SDK's defaults (128 attributes per span), in an
80-message chat, loses output.value and llm.invocation_parameters to eviction before the
collector sees the span. The row says so (how many attributes the app dropped, and a cost
status of its own), and `report` and `doctor` name the fix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from openrouter_openobserve import report
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ROOT, Collector, child_env, wait_for, write_env_file
from tests.test_doctor import doctor, fix_of, result_of

USERS_OWN_APP = """
    import sys
    from openai import OpenAI
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
    from tests.scenarios import conversation

    provider = TracerProvider()  # the SDK's defaults: at most 128 attributes per span
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sys.argv[1])))
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    simulator = OpenRouterSimulator().start()
    client = OpenAI(api_key="sk-or-user-app-1234", base_url=simulator.base_url, max_retries=0)
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=conversation(80))
    provider.shutdown()
"""


def test_a_response_evicted_in_the_app_is_named_and_its_fix_given(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path
) -> None:
    app = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(USERS_OWN_APP), collector.otlp_grpc_endpoint],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert app.returncode == 0, app.stderr
    (row,) = wait_for(lambda: emulator.rows("llm_traces", org="acme"), what="the span")
    assert int(row["otel_dropped_attributes_count"]) > 0
    assert row["openrouter_cost_status"] == "lost_in_app"  # not "OpenRouter sent no cost"
    assert int(row["llm_token_count_prompt"]) > 0  # what survived is still there

    env_file = write_env_file(tmp_path / ".env", collector.env)
    result = CliRunner().invoke(report.main, ["--env-file", str(env_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert summary["lost_in_app"] == 1 and summary["unpriced"] == 0
    assert "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT" in result.stderr

    checked = doctor(collector.env, tmp_path)
    assert result_of(checked.stdout, "app attribute limit") == "FAIL"
    assert "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT" in fix_of(checked.stdout, "app attribute limit")
