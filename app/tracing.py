"""One-call tracing setup for a Python service that talks to OpenRouter.

    from app.tracing import setup_tracing
    setup_tracing()            # before the first OpenAI client call

Spans go over OTLP/gRPC to the local collector (`OTEL_EXPORTER_OTLP_ENDPOINT`,
default http://localhost:4317), which adds credentials, normalises and forwards
to OpenObserve. The app never needs OpenObserve's address or token.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from openinference.instrumentation import TraceConfig
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

DEFAULT_ENDPOINT = "http://localhost:4317"
# The SDK's default of 128 attributes evicts the oldest first: in a long chat that is
# output.value and llm.invocation_parameters, where cost and the requested model live.
MAX_SPAN_ATTRIBUTES = 65536
# Seconds one export (retries included) may take before its batch is dropped. Exports run
# on the processor's thread, never in the request path; this bounds only how long exit
# waits when the collector is unreachable. A local collector answers in milliseconds.
EXPORT_TIMEOUT_S = 3


def setup_tracing(
    service_name: str | None = None,
    environment: str | None = None,
    endpoint: str | None = None,
) -> TracerProvider:
    """Install a tracer provider exporting to the collector and instrument the OpenAI client."""
    resource = Resource.create(
        {
            "service.name": service_name or os.environ.get("OTEL_SERVICE_NAME", "openrouter-app"),
            "deployment.environment.name": environment
            or os.environ.get("DEPLOYMENT_ENVIRONMENT", "development"),
        }
    )
    provider = TracerProvider(
        resource=resource,
        span_limits=SpanLimits(max_span_attributes=MAX_SPAN_ATTRIBUTES),
    )
    exporter = OTLPSpanExporter(
        endpoint=endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", DEFAULT_ENDPOINT),
        timeout=EXPORT_TIMEOUT_S,
    )
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider, config=trace_config())
    _flush_on_exit(provider)
    return provider


def trace_config() -> TraceConfig:
    """What OpenInference records.

    The request and response JSON (input.value, output.value) always stay: the collector
    extracts cost, provider and served model from them, and its content policy decides
    what leaves the host. The per-message copies (llm.input_messages.N.*, ...) are off by
    default: they repeat what input.value holds, cost CPU per message, and the collector
    drops them anyway. OPENINFERENCE_HIDE_* variables override these defaults.
    """
    return TraceConfig(
        hide_input_messages=_env_flag("OPENINFERENCE_HIDE_INPUT_MESSAGES", True),
        hide_output_messages=_env_flag("OPENINFERENCE_HIDE_OUTPUT_MESSAGES", True),
        hide_llm_tools=_env_flag("OPENINFERENCE_HIDE_LLM_TOOLS", True),
    )


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes")


def _flush_on_exit(provider: TracerProvider) -> None:
    """Export finished spans on normal exit and on SIGTERM (containers stop with it)."""
    shutdown = _once(provider.shutdown)
    atexit.register(shutdown)
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        shutdown()
        if callable(previous):
            previous(signum, frame)
        else:
            sys.exit(128 + signum)

    # Outside the main thread the host application owns signals: leave them alone.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, on_sigterm)


def _once(action: Callable[[], object]) -> Callable[[], None]:
    done = threading.Event()

    def run() -> None:
        if not done.is_set():
            done.set()
            action()

    return run
