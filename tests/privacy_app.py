"""An app that puts a distinct sentinel in every kind of content one conversation has, traced
by one real package, calling OpenRouter (the simulator). Run as
`python -m tests.privacy_app PACKAGE` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a
collector (OTLP/gRPC; OpenLIT's: OTLP/HTTP). PACKAGE is one of PACKAGES.

The conversation: a system prompt and a user prompt, a reasoning model's answer, a tool the
model calls (the simulator's arguments: `TOOL_ARGUMENTS`) and its result. The simulator's
answers carry their own texts ("Simulated answer from", "Thinking about: "), so the
completion and the reasoning are told apart from the prompt that led to them.

This module imports only what every package's environment has; each package is imported
where it is used (the frameworks run in an environment of their own, OpenLIT in another).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from openrouter_openobserve.client import OFFLINE_API_KEY
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator

SYSTEM = "SYSTEM-SENTINEL-5c1d"
USER = "USER-SENTINEL-9e2b"
TOOL_RESULT = "TOOL-RESULT-SENTINEL-4a7f"
# What the simulator writes: the completion, the reasoning, a tool call's arguments.
COMPLETION = "Simulated answer from"
REASONING = "Thinking about: "
TOOL_ARGUMENTS = "simulated tool query"
SENTINELS = {
    "system prompt": SYSTEM,
    "user prompt": USER,
    "completion": COMPLETION,
    "reasoning": REASONING,
    "tool arguments": TOOL_ARGUMENTS,
    "tool result": TOOL_RESULT,
}

CHAT_MODEL = "anthropic/claude-3.5-haiku"
REASONING_MODEL = "deepseek/deepseek-r1"
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}


def lookup(query: str) -> str:
    """Look something up."""
    return f"{TOOL_RESULT} for {query}"


# The app's own span around the conversation, as a web framework makes one per request: not
# a GenAI span, so every policy leaves its attributes alone.
REQUEST_SPAN = "POST /chat"
REQUEST_ATTRIBUTES = {"http.request.method": "POST", "http.route": "/chat", "app.tenant": "acme"}


def request_span() -> AbstractContextManager[trace.Span]:
    """The request span, from the tracer provider the package's setup installed."""
    return trace.get_tracer("privacy-app").start_as_current_span(
        REQUEST_SPAN, attributes=REQUEST_ATTRIBUTES
    )


def otlp_provider(service: str) -> TracerProvider:
    """The SDK exporting over OTLP/gRPC, as a user sets it up for a package of their own."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def bundle_tracing(service: str) -> TracerProvider:
    """The README's setup: setup_tracing() (OpenInference's OpenAI instrumentation)."""
    from openrouter_openobserve.tracing import setup_tracing

    return setup_tracing(service_name=service)


def openai_conversation(base_url: str) -> None:
    """The conversation through the OpenAI client itself (a client instrumentation)."""
    import openai

    client = openai.OpenAI(api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0)
    system = {"role": "system", "content": SYSTEM}
    user = {"role": "user", "content": f"Hello {USER}"}
    client.chat.completions.create(model=CHAT_MODEL, messages=[system, user])
    client.chat.completions.create(model=REASONING_MODEL, messages=[system, user])
    first = client.chat.completions.create(model=CHAT_MODEL, messages=[system, user], tools=[TOOL])
    call = first.choices[0].message.tool_calls[0]
    result = {"role": "tool", "tool_call_id": call.id, "content": lookup("x")}
    assistant = first.choices[0].message.model_dump(exclude_none=True)
    client.chat.completions.create(
        model=CHAT_MODEL, messages=[system, user, assistant, result], tools=[TOOL]
    )


def run_openinference_openai(base_url: str) -> TracerProvider:
    provider = bundle_tracing("openinference-openai-app")
    with request_span():
        openai_conversation(base_url)
    return provider


def run_otel_genai(base_url: str) -> TracerProvider:
    """OpenTelemetry's GenAI instrumentation, content captured on spans and in events."""
    os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_and_event")
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

    provider = otlp_provider("otel-genai-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    with request_span():
        openai_conversation(base_url)
    return provider


def run_traceloop(base_url: str) -> TracerProvider:
    """Traceloop's OpenAI instrumentation; it records content unless told not to."""
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    provider = otlp_provider("traceloop-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    with request_span():
        openai_conversation(base_url)
    return provider


def run_openlit(base_url: str) -> TracerProvider:
    """OpenLIT with its defaults (events on), OTLP/HTTP; no network for its price list."""
    import openlit

    openlit.init(application_name="openlit-app", disable_metrics=True, pricing_json=os.devnull)
    with request_span():
        openai_conversation(base_url)
    return trace.get_tracer_provider()  # type: ignore[return-value]


def run_langchain(base_url: str) -> TracerProvider:
    """LangChain, instrumented by OpenInference's LangChain instrumentor on top of the
    README's setup."""
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from openinference.instrumentation.langchain import LangChainInstrumentor

    provider = bundle_tracing("langchain-app")
    LangChainInstrumentor().instrument(tracer_provider=provider)
    with request_span():
        chat = ChatOpenAI(
            model=CHAT_MODEL, api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0
        )
        messages: list[Any] = [SystemMessage(SYSTEM), HumanMessage(f"Hello {USER}")]
        chat.invoke(messages)
        ChatOpenAI(
            model=REASONING_MODEL, api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0
        ).invoke(messages)
        lookup_tool = tool(lookup)
        answer = chat.bind_tools([lookup_tool]).invoke(messages)
        call = answer.tool_calls[0]
        result = ToolMessage(lookup_tool.invoke(call["args"]), tool_call_id=call["id"])
        chat.bind_tools([lookup_tool]).invoke([*messages, answer, result])
    return provider


def run_smolagents(base_url: str) -> TracerProvider:
    """smolagents' OpenAI model, instrumented by OpenInference's smolagents instrumentor on
    top of the README's setup."""
    from openinference.instrumentation.smolagents import SmolagentsInstrumentor
    from smolagents import OpenAIServerModel, Tool

    provider = bundle_tracing("smolagents-app")
    SmolagentsInstrumentor().instrument(tracer_provider=provider)

    with request_span():

        class Lookup(Tool):
            name = "lookup"
            description = "Look something up."
            inputs = {"query": {"type": "string", "description": "what to look up"}}  # noqa: RUF012 (smolagents reads the class attribute)
            output_type = "string"

            def forward(self, query: str) -> str:
                return lookup(query)

        def text(role: str, content: str) -> dict[str, Any]:
            return {"role": role, "content": [{"type": "text", "text": content}]}

        messages = [text("system", SYSTEM), text("user", f"Hello {USER}")]
        for model_id in (CHAT_MODEL, REASONING_MODEL):
            OpenAIServerModel(
                model_id=model_id, api_base=base_url, api_key=OFFLINE_API_KEY
            ).generate(messages)
        model = OpenAIServerModel(model_id=CHAT_MODEL, api_base=base_url, api_key=OFFLINE_API_KEY)
        answer = model.generate(messages, tools_to_call_from=[Lookup()])
        call = answer.tool_calls[0]
        result = text("tool-response", Lookup()(**json.loads(call.function.arguments)))
        model.generate([*messages, text("assistant", str(call.function.arguments)), result])
    return provider


def run_openai_agents(base_url: str) -> TracerProvider:
    """OpenAI's Agents SDK, instrumented by OpenInference's instrumentor for it, on top of the
    README's setup."""
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool
    from openai import AsyncOpenAI
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    provider = bundle_tracing("openai-agents-app")
    OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)
    with request_span():
        client = AsyncOpenAI(api_key=OFFLINE_API_KEY, base_url=base_url, max_retries=0)
        for model, tools in ((CHAT_MODEL, [function_tool(lookup)]), (REASONING_MODEL, [])):
            agent = Agent(
                name="helper",
                instructions=SYSTEM,
                model=OpenAIChatCompletionsModel(model=model, openai_client=client),
                tools=tools,
            )
            Runner.run_sync(agent, f"Hello {USER}")
    return provider


def run_pydantic_ai(base_url: str) -> TracerProvider:
    """Pydantic AI's own instrumentation (its own attribute names for the conversation:
    pydantic_ai.all_messages, final_result, model_request_parameters) on top of the README's
    setup."""
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    provider = bundle_tracing("pydantic-ai-app")
    Agent.instrument_all()
    with request_span():
        openrouter = OpenAIProvider(base_url=base_url, api_key=OFFLINE_API_KEY)
        for model, tools in ((CHAT_MODEL, [lookup]), (REASONING_MODEL, [])):
            agent = Agent(
                OpenAIChatModel(model, provider=openrouter), instructions=SYSTEM, tools=tools
            )
            asyncio.run(agent.run(f"Hello {USER}"))
    return provider


PACKAGES: dict[str, Callable[[str], TracerProvider]] = {
    "openinference-openai": run_openinference_openai,
    "openinference-langchain": run_langchain,
    "openinference-smolagents": run_smolagents,
    "openinference-openai-agents": run_openai_agents,
    "pydantic-ai": run_pydantic_ai,
    "otel-genai": run_otel_genai,
    "traceloop": run_traceloop,
    "openlit": run_openlit,
}


def main() -> None:
    package = sys.argv[1]
    simulator = OpenRouterSimulator().start()
    provider = PACKAGES[package](simulator.base_url)
    provider.shutdown()
    print(json.dumps({"requests": len(simulator.requests)}))


if __name__ == "__main__":
    main()
