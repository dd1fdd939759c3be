"""One-call tracing setup for a Python service that talks to OpenRouter.

    from openrouter_openobserve.tracing import setup_tracing
    setup_tracing()            # before the first OpenAI client call

Spans go over OTLP/gRPC to the local collector, which adds credentials, normalises and
forwards to OpenObserve: the app never needs OpenObserve's address or token. The standard
OpenTelemetry variables are honoured, not overridden: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
(default http://localhost:4317), OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_BSP_SCHEDULE_DELAY. Arguments
given here win over them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from openinference.instrumentation import TraceConfig
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

DEFAULT_SERVICE_NAME = "openrouter-app"
# The SDK's default of 128 attributes evicts the oldest first: in a long chat that is
# output.value and llm.invocation_parameters, where cost and the requested model live.
MAX_SPAN_ATTRIBUTES = 65536
# Seconds one export (retries included) may take before its batch is dropped. Exports run
# on the processor's thread, never in the request path. A local collector answers in ms.
EXPORT_TIMEOUT_S = 3
# The longest exit waits for the last spans, whatever the collector does.
SHUTDOWN_TIMEOUT_S = 5.0

_lock = threading.Lock()
_installed: TracerProvider | None = None


def setup_tracing(
    service_name: str | None = None,
    environment: str | None = None,
    endpoint: str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
) -> TracerProvider:
    """Export spans to the collector and instrument the OpenAI client; returns the provider.

    Safe to call more than once (later calls return the first provider). When the host
    application has already installed an SDK tracer provider, that one is instrumented and
    nothing else changes. Spans are flushed when the process exits, after the host's own
    SIGTERM handling, within SHUTDOWN_TIMEOUT_S.

    Users and sessions are set per request, around the call:
    `with openinference.instrumentation.using_attributes(session_id=..., user_id=...):`, or
    with the request's own `user` field; the collector writes them as `user.id` and
    `gen_ai.conversation.id` (USER_ID_HASH hashes the user).
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):  # the host configured OpenTelemetry itself
            _installed = current
        else:
            _installed = _new_provider(service_name, environment, endpoint, resource_attributes)
            trace.set_tracer_provider(_installed)
            _flush_on_exit(_installed)
        OpenAIInstrumentor().instrument(tracer_provider=_installed, config=trace_config())
        return _installed


def _new_provider(
    service_name: str | None,
    environment: str | None,
    endpoint: str | None,
    extra: Mapping[str, Any] | None,
) -> TracerProvider:
    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; what is passed
    # here wins, so only explicit arguments and the bundle's fallbacks go in.
    from_env = Resource.create({}).attributes
    attributes: dict[str, Any] = dict(extra or {})
    if service_name:
        attributes["service.name"] = service_name
    elif "OTEL_SERVICE_NAME" not in os.environ and "service.name=" not in _resource_env():
        attributes["service.name"] = DEFAULT_SERVICE_NAME
    environment = environment or os.environ.get("DEPLOYMENT_ENVIRONMENT")
    if environment and "deployment.environment.name" not in from_env:
        attributes["deployment.environment.name"] = environment
    # SpanLimits reads OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT itself when given no number.
    limit = None if "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT" in os.environ else MAX_SPAN_ATTRIBUTES
    provider = TracerProvider(
        resource=Resource.create(attributes),
        span_limits=SpanLimits(max_span_attributes=limit),
        shutdown_on_exit=False,  # _flush_on_exit does it, with a bound on the wait
    )
    # The exporter reads the OTEL_EXPORTER_OTLP_* endpoint, headers and timeout itself.
    timeout = None if _env_names_timeout() else EXPORT_TIMEOUT_S
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=timeout)
    # The batch processor reads OTEL_BSP_SCHEDULE_DELAY itself; the bundle's default is 500 ms.
    delay = None if "OTEL_BSP_SCHEDULE_DELAY" in os.environ else 500
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=delay))
    return provider


def _resource_env() -> str:
    return os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")


def _env_names_timeout() -> bool:
    return any(
        name in os.environ
        for name in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
    )


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
    """Flush at interpreter exit, bounded by SHUTDOWN_TIMEOUT_S. A SIGTERM handler is only
    installed where the process has none (default action: die without flushing); it turns
    the signal into a normal exit. A host's own handler (a web server's graceful shutdown)
    is left to run, and its requests' spans are flushed when it exits."""

    def shutdown() -> None:
        worker = threading.Thread(target=provider.shutdown, daemon=True)
        worker.start()
        worker.join(SHUTDOWN_TIMEOUT_S)

    atexit.register(shutdown)
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def exit_normally(signum: int, frame: FrameType | None) -> None:
        sys.exit(128 + signum)

    # Outside the main thread the host application owns signals: leave them alone.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, exit_normally)
