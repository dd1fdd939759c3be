"""An app that calls OpenRouter through LangChain, and another OpenAI-compatible endpoint, in
one of the setups users run. Run as `python -m tests.framework_app SETUP` with
OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector; SETUP is one of

- `client`: OpenInference's OpenAI instrumentor alone (the bundle's `setup_tracing`);
- `both`: OpenInference's LangChain instrumentor on top of the OpenAI instrumentor;
- `framework`: the LangChain instrumentor alone, the resource saying so
  (`openrouter.llm_spans=framework`).

It prints, as JSON, the HTTP requests each endpoint answered: the tests count the rows
against them.
"""

from __future__ import annotations

import json
import os
import sys

from langchain_openai import ChatOpenAI
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from openrouter_openobserve.client import OFFLINE_API_KEY
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from openrouter_openobserve.tracing import setup_tracing
from tests.scenarios import PROMPT_SENTINEL

SETUPS = ("client", "both", "framework")


def trace_app(setup: str) -> TracerProvider:
    if setup == "framework":
        # No client instrumentation: the framework's LLM spans are the calls.
        os.environ["OTEL_RESOURCE_ATTRIBUTES"] = "openrouter.llm_spans=framework"
        provider = TracerProvider(resource=Resource.create({"service.name": "framework-app"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    else:
        provider = setup_tracing(service_name="framework-app")
    if setup != "client":
        LangChainInstrumentor().instrument(tracer_provider=provider)
    return provider


def chat(base_url: str, model: str) -> ChatOpenAI:
    return ChatOpenAI(model=model, api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0)


def main() -> None:
    setup = sys.argv[1]
    assert setup in SETUPS, setup
    provider = trace_app(setup)
    openrouter = OpenRouterSimulator().start()
    other = OpenRouterSimulator(plain_openai=True).start()

    chat(openrouter.base_url, "anthropic/claude-3.5-haiku").invoke(f"Hello {PROMPT_SENTINEL}")
    for _ in chat(openrouter.base_url, "openai/gpt-4o-mini").stream(f"Stream {PROMPT_SENTINEL}"):
        pass
    openrouter.fail(403)  # a moderation refusal quotes the prompt in its metadata
    try:
        chat(openrouter.base_url, "openai/gpt-4o-mini").invoke(f"Refused {PROMPT_SENTINEL}")
    except Exception as refusal:  # the app handles it; the span records it
        assert "403" in str(refusal), refusal
    chat(other.base_url, "gpt-4o-mini").invoke(f"Elsewhere {PROMPT_SENTINEL}")

    provider.shutdown()
    answered = {"openrouter": openrouter.requests, "other": other.requests}
    print(json.dumps({name: len(requests) for name, requests in answered.items()}))


if __name__ == "__main__":
    main()
