"""An app in one stack of a client instrumentation and a framework on top, calling OpenRouter
(the simulator): two answered requests and one refused (400). Run as
`python -m tests.counting_app CLIENT FRAMEWORK` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at
a collector; its service is named `CLIENT+FRAMEWORK`. It prints how many HTTP requests the
simulator answered and how many it refused.

- CLIENT: `openinference` (the README's `setup_tracing()`), `otel-genai` (OpenTelemetry's
  OpenAI instrumentation), `traceloop`, or `none` (no client instrumentation: the resource
  says `openrouter.llm_spans=framework`, as the README tells such apps to).
- FRAMEWORK: `none` (the OpenAI client itself), `pydantic-ai` and `semantic-kernel` (both
  emit GenAI-convention spans of their own), `pydantic-ai-openinference` (those spans
  rewritten by OpenInference's span processor for Pydantic AI), `smolagents` and
  `openai-agents` (instrumented by OpenInference's instrumentors for them).
- `elsewhere`: a failed call to another OpenAI-compatible host (a vendor/model slug, no
  answer), through OpenTelemetry's instrumentation, which records that host.

Every client has its retries off, so that each call is one HTTP request (as
`openrouter_client()` has). Runs in the frameworks' environment (tests/frameworks.lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from openrouter_openobserve.client import OFFLINE_API_KEY
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator

MODEL = "anthropic/claude-3.5-haiku"
PROMPT = "How many calls is this?"
# One event loop for every call: an async client stays bound to the loop it first ran in.
LOOP = asyncio.new_event_loop()


def trace_client(client: str, service: str) -> TracerProvider:
    if client == "openinference":
        from openrouter_openobserve.tracing import setup_tracing

        return setup_tracing(service_name=service)
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    resource = {"service.name": service}
    if client == "none":
        resource["openrouter.llm_spans"] = "framework"
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if client == "otel-genai":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    elif client == "traceloop":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    else:
        return provider
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider


def async_client(base_url: str) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0)


def call_openai(base_url: str) -> None:
    import openai

    client = openai.OpenAI(api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0)
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": PROMPT}])


def caller_pydantic_ai(base_url: str) -> Callable[[], None]:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    Agent.instrument_all()
    provider = OpenAIProvider(openai_client=async_client(base_url))
    agent = Agent(OpenAIChatModel(MODEL, provider=provider))
    return lambda: LOOP.run_until_complete(agent.run(PROMPT)) and None


def caller_pydantic_ai_openinference(base_url: str) -> Callable[[], None]:
    """Pydantic AI's spans as OpenInference's span processor for it rewrites them (LLM spans
    that record the generation id as an attribute, not in an answer JSON)."""
    from openinference.instrumentation.pydantic_ai import OpenInferenceSpanProcessor

    trace.get_tracer_provider().add_span_processor(OpenInferenceSpanProcessor())  # type: ignore[attr-defined]
    return caller_pydantic_ai(base_url)


def caller_semantic_kernel(base_url: str) -> Callable[[], None]:
    # Semantic Kernel's GenAI spans are on only when this says so (its documentation).
    os.environ["SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS"] = "true"
    from semantic_kernel.connectors.ai.open_ai import (
        OpenAIChatCompletion,
        OpenAIChatPromptExecutionSettings,
    )
    from semantic_kernel.contents import ChatHistory

    service = OpenAIChatCompletion(ai_model_id=MODEL, async_client=async_client(base_url))

    def call() -> None:
        history = ChatHistory()
        history.add_user_message(PROMPT)
        settings = OpenAIChatPromptExecutionSettings()
        LOOP.run_until_complete(service.get_chat_message_content(history, settings))

    return call


def caller_smolagents(base_url: str) -> Callable[[], None]:
    from openinference.instrumentation.smolagents import SmolagentsInstrumentor
    from smolagents import OpenAIServerModel

    SmolagentsInstrumentor().instrument(tracer_provider=trace.get_tracer_provider())
    model = OpenAIServerModel(
        model_id=MODEL, api_base=base_url, api_key=OFFLINE_API_KEY, client_kwargs={"max_retries": 0}
    )
    message = {"role": "user", "content": [{"type": "text", "text": PROMPT}]}
    return lambda: model.generate([message]) and None


def caller_openai_agents(base_url: str) -> Callable[[], None]:
    from agents import Agent, OpenAIChatCompletionsModel, Runner
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    OpenAIAgentsInstrumentor().instrument(tracer_provider=trace.get_tracer_provider())
    model = OpenAIChatCompletionsModel(model=MODEL, openai_client=async_client(base_url))
    agent = Agent(name="counter", model=model)
    return lambda: LOOP.run_until_complete(Runner.run(agent, PROMPT)) and None


FRAMEWORKS: dict[str, Callable[[str], Callable[[], None]]] = {
    "none": lambda base_url: lambda: call_openai(base_url),
    "pydantic-ai": caller_pydantic_ai,
    "pydantic-ai-openinference": caller_pydantic_ai_openinference,
    "semantic-kernel": caller_semantic_kernel,
    "smolagents": caller_smolagents,
    "openai-agents": caller_openai_agents,
}


def call_elsewhere(simulator: OpenRouterSimulator) -> None:
    """A refused call to a host that is not OpenRouter (0.0.0.0 reaches this machine, and is
    neither OpenRouter's name nor a loopback one), asking for a vendor/model slug."""
    simulator.fail(503)
    base_url = simulator.base_url.replace("127.0.0.1", "0.0.0.0")
    with contextlib.suppress(Exception):
        call_openai(base_url)


def main() -> None:
    client, framework = sys.argv[1], sys.argv[2]
    provider = trace_client(client, f"{client}+{framework}")
    simulator = OpenRouterSimulator().start()
    if framework == "elsewhere":
        call_elsewhere(simulator)
    else:
        call = FRAMEWORKS[framework](simulator.base_url)
        call()
        call()
        simulator.fail(400)  # a bad request: no framework retries it
        with contextlib.suppress(Exception):  # the app handles it; the span records it
            call()
    provider.shutdown()
    refused = sum("error" in request["response"] for request in simulator.requests)
    answered = len(simulator.requests) - refused
    print(json.dumps({"answered": answered, "refused": refused}))


if __name__ == "__main__":
    main()
