"""`setup_tracing` as a good OpenTelemetry citizen, in a process of its own against the real
collector: the standard OTEL_* variables win over the bundle's defaults, a second call
changes nothing, a host's own SIGTERM handling runs (and the spans of its last requests are
still flushed), and exit never hangs on an unreachable collector."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ROOT, Collector, child_env, wait_for


def python(script: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(**env),
    )


def rows_named(emulator: OpenObserveEmulator, name: str) -> list[dict]:
    return [r for r in emulator.rows("llm_traces", org="acme") if r["operation_name"] == name]


def test_standard_otel_variables_win(emulator: OpenObserveEmulator, collector: Collector) -> None:
    script = """
        from openrouter_openobserve.tracing import setup_tracing
        setup_tracing().get_tracer("t").start_span("configured by OTEL_*").end()
    """
    process = python(
        script,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=collector.otlp_grpc_endpoint,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1",  # the signal-specific one wins
        OTEL_SERVICE_NAME="billing-api",
        OTEL_RESOURCE_ATTRIBUTES="team=llm,deployment.environment.name=prod",
        DEPLOYMENT_ENVIRONMENT="staging",  # the bundle's fallback loses to OTEL_*
    )
    assert process.wait(timeout=60) == 0, process.stderr.read()
    (row,) = wait_for(lambda: rows_named(emulator, "configured by OTEL_*"), what="the span")
    assert row["service_name"] == "billing-api"
    assert row["service_team"] == "llm"
    assert row["service_deployment_environment_name"] == "prod"


def test_a_second_call_changes_nothing(emulator: OpenObserveEmulator, collector: Collector) -> None:
    script = """
        from openrouter_openobserve.client import openrouter_client
        from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
        from openrouter_openobserve.tracing import setup_tracing
        first, second = setup_tracing(), setup_tracing()
        assert first is second
        simulator = OpenRouterSimulator().start()
        client = openrouter_client(api_key="sk-or-test-key-123", base_url=simulator.base_url)
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "once"}]
        )
    """
    process = python(script, OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc_endpoint)
    assert process.wait(timeout=60) == 0, process.stderr.read()
    # The app flushed its one batch at exit: a duplicate span would arrive with the first.
    rows = wait_for(lambda: emulator.rows("llm_traces", org="acme"), what="the call's span")
    llm = [r for r in rows if r.get("openinference_span_kind")]
    assert len(llm) == 1, rows  # instrumented once: one span per call


def test_the_hosts_graceful_shutdown_runs_and_its_spans_are_flushed(
    emulator: OpenObserveEmulator, collector: Collector
) -> None:
    """A web server stops accepting on SIGTERM, finishes its requests, then exits: the span
    of the request finished after the signal still arrives."""
    script = """
        import signal, sys, time
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))  # the host's own
        from openrouter_openobserve.tracing import setup_tracing
        tracer = setup_tracing().get_tracer("server")
        print("serving", flush=True)
        while not stopping:
            time.sleep(0.05)
        with tracer.start_as_current_span("request finished during shutdown"):
            time.sleep(0.2)
        print("drained", flush=True)
    """
    process = python(script, OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc_endpoint)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "serving"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, process.stderr.read()
    assert process.stdout.read().strip() == "drained"  # the host's handler ran, not ours
    wait_for(
        lambda: rows_named(emulator, "request finished during shutdown"),
        what="the span of the request finished after SIGTERM",
    )


def test_exit_does_not_hang_on_a_collector_that_never_answers() -> None:
    """A listener that accepts connections and never answers: the export cannot finish,
    and the process still exits (the shutdown wait is bounded)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        script = """
            from openrouter_openobserve.tracing import setup_tracing
            tracer = setup_tracing().get_tracer("t")
            for n in range(50):
                tracer.start_span(f"span {n}").end()
        """
        process = python(script, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
        try:
            assert process.wait(timeout=60) == 0, process.stderr.read()
        finally:
            process.kill()
