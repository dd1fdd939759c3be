"""An app instrumented in one dialect of LLM spans, calling OpenRouter (the simulator) through
`openrouter_client()`. Run as `python -m tests.dialect_app DIALECT` with
OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector; DIALECT is one of

- `openinference`: the bundle's `setup_tracing()` (OpenInference's OpenAI instrumentation);
- `otel-genai`: OpenTelemetry's own OpenAI instrumentation (GenAI semantic conventions);
- `traceloop`: Traceloop's OpenLLMetry OpenAI instrumentation;
- `openlit`: OpenLIT (OTLP/HTTP: OTEL_EXPORTER_OTLP_ENDPOINT is the collector's HTTP
  endpoint). It needs openai < 3 and runs in an environment of its own, which has only what
  this module imports at the top.

It makes a chat call (with a user and a session), a stream and a call refused with 429, and
prints the simulator's answers as JSON for the tests to compare the rows with.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator

import openai
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from openrouter_openobserve.client import OFFLINE_API_KEY, openrouter_client
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator

DIALECTS = ("openinference", "otel-genai", "traceloop", "openlit")
USER, SESSION = "user-42", "session-7"
PROMPT_SENTINEL = "PROMPT-SENTINEL-7f3a"  # as in tests.scenarios, which OpenLIT's env lacks


def trace_app(dialect: str) -> TracerProvider:
    if dialect == "openinference":
        from openrouter_openobserve.tracing import setup_tracing

        return setup_tracing(service_name=f"{dialect}-app")
    if dialect == "openlit":
        import openlit

        # OpenLIT installs its own provider and OTLP/HTTP exporter; no network for prices.
        openlit.init(
            application_name=f"{dialect}-app",
            disable_metrics=True,
            disable_events=True,
            pricing_json=os.devnull,
        )
        return trace.get_tracer_provider()  # type: ignore[return-value]
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": f"{dialect}-app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if dialect == "otel-genai":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider


@contextlib.contextmanager
def in_session(dialect: str) -> Iterator[None]:
    """The dialect's own way of naming the session and the user, where it has one."""
    if dialect == "openinference":
        from openinference.instrumentation import using_attributes

        with using_attributes(session_id=SESSION, user_id=USER):
            yield
    else:
        yield


def main() -> None:
    dialect = sys.argv[1]
    assert dialect in DIALECTS, dialect
    provider = trace_app(dialect)
    simulator = OpenRouterSimulator().start()
    client = openrouter_client(api_key=OFFLINE_API_KEY, base_url=simulator.base_url)
    messages = [{"role": "user", "content": f"Hello {PROMPT_SENTINEL}"}]
    with in_session(dialect):
        client.chat.completions.create(
            model="anthropic/claude-3.5-haiku", messages=messages, user=USER
        )
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    simulator.fail(429)
    with contextlib.suppress(openai.RateLimitError):
        client.chat.completions.create(model="meta-llama/llama-3.1-8b-instruct", messages=messages)
    provider.shutdown()
    print(
        json.dumps(
            [{"model": r["body"]["model"], "response": r["response"]} for r in simulator.requests]
        )
    )


if __name__ == "__main__":
    main()
