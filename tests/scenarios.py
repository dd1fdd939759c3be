"""An instrumented app process that makes one OpenRouter call per scenario.

Run as `python -m tests.scenarios NAME [NAME ...]` with OTEL_EXPORTER_OTLP_ENDPOINT
pointing at a collector. It starts its own OpenRouter simulator (so it can inject
faults), wraps each scenario in a parent span named `scenario NAME`, and prints, as
JSON on stdout, what the simulator answered in each scenario: the tests compare the
rows that reached OpenObserve with these answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import openai
from openinference.instrumentation import using_attributes, using_metadata
from opentelemetry import trace

from openrouter_openobserve.client import OFFLINE_API_KEY, openrouter_client
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from openrouter_openobserve.tracing import setup_tracing

PROMPT_SENTINEL = "PROMPT-SENTINEL-7f3a"
LEAKED_KEY = "sk-or-v1-" + "c0ffee" * 10
PERSONAL = "write to jane.doe@example.com, card 4111 1111 1111 1111"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"{text} {PROMPT_SENTINEL}"}]


def tools(count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": f"tool_{i}",
                "description": f"Tool number {i}",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
        for i in range(count)
    ]


def conversation(messages: int) -> list[dict[str, Any]]:
    turns = [{"role": "system", "content": f"You are terse. {PROMPT_SENTINEL}"}]
    for i in range(messages - 1):
        role = "user" if i % 2 == 0 else "assistant"
        turns.append({"role": role, "content": f"turn {i} {PROMPT_SENTINEL}"})
    if turns[-1]["role"] != "user":
        turns.append({"role": "user", "content": f"last {PROMPT_SENTINEL}"})
    return turns


class Scenarios:
    def __init__(self) -> None:
        self.simulator = OpenRouterSimulator().start()
        self.client = openrouter_client(api_key=OFFLINE_API_KEY, base_url=self.simulator.base_url)
        if os.environ.get("SCENARIOS_CLIENT") == "plain":  # an app with a client of its own
            self.client = openai.OpenAI(
                api_key=OFFLINE_API_KEY, base_url=self.simulator.base_url, max_retries=0
            )

    def chat(self) -> None:
        self.client.chat.completions.create(
            model="meta-llama/llama-3.1-8b-instruct",
            messages=user("Explain tracing"),
            temperature=0.3,
            max_tokens=64,
            top_p=0.9,
            user="user-42",  # the request's end user: user_id
        )

    def stream(self) -> None:
        self.simulator.latency_s, self.simulator.chunk_delay_s = 0.25, 0.02
        try:
            stream = self.client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=user("Stream please"), stream=True
            )
            for _ in stream:
                pass
        finally:
            self.simulator.latency_s, self.simulator.chunk_delay_s = 0.0, 0.0

    def async_client(self) -> None:
        async def call() -> None:
            client = openai.AsyncOpenAI(
                api_key="sk-or-offline-simulator", base_url=self.simulator.base_url, max_retries=0
            )
            await client.chat.completions.create(
                model="anthropic/claude-3.5-haiku", messages=user("Async hello")
            )
            await client.close()

        asyncio.run(call())

    def tool_call(self) -> None:
        self.client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=user("Weather?"), tools=tools(2)
        )

    def reasoning(self) -> None:
        self.client.chat.completions.create(
            model="deepseek/deepseek-r1", messages=user("Think about it")
        )

    def cached_prompt(self) -> None:
        system = {"role": "system", "content": f"Long shared instructions {PROMPT_SENTINEL} " * 20}
        for question in ("first", "second"):
            self.client.chat.completions.create(
                model="anthropic/claude-3.5-haiku",
                messages=[system, {"role": "user", "content": question}],
            )

    def free_model(self) -> None:
        self.client.chat.completions.create(
            model="meta-llama/llama-3.1-8b-instruct:free", messages=user("Free hello")
        )

    def free_priced_model(self) -> None:
        """A free variant of a model OpenObserve has a price for: billed $0, and a v0.91.5
        server replaces that 0 with its own estimate."""
        self.client.chat.completions.create(
            model="google/gemini-2.0-flash-exp:free", messages=user("Free, but priced elsewhere")
        )

    def byok(self) -> None:
        self.simulator.byok = True
        try:
            self.client.chat.completions.create(model="openai/gpt-4o-mini", messages=user("Mine"))
        finally:
            self.simulator.byok = False

    def _error(self, status: int) -> Callable[[], None]:
        def run() -> None:
            self.simulator.fail(status)
            self.client.chat.completions.create(
                model="mistralai/mistral-small-3.1-24b-instruct", messages=user("fail")
            )

        return run

    def mid_stream_error(self) -> None:
        self.simulator.fail_mid_stream()
        stream = self.client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=user("one two three"), stream=True
        )
        for _ in stream:
            pass

    def timeout(self) -> None:
        self.simulator.latency_s = 1.0
        try:
            client = openrouter_client(
                api_key=OFFLINE_API_KEY, base_url=self.simulator.base_url, timeout_s=0.3
            )
            client.chat.completions.create(model="openai/gpt-4o-mini", messages=user("slow"))
        finally:
            self.simulator.latency_s = 0.0

    def short_chat(self) -> None:
        self.client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=conversation(2), tools=tools(1)
        )

    def long_chat(self) -> None:
        self.client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=conversation(200), tools=tools(20)
        )

    def varied_conversations(self) -> None:
        """Conversations of 100 to 800 messages: flattened, one column per message field."""
        for messages in (100, 300, 800):
            self.client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=conversation(messages), tools=tools(20)
            )

    def secrets(self) -> None:
        """A key in the prompt, and in request metadata, which every content policy keeps
        (OpenInference records it as the span attribute `metadata`)."""
        with using_metadata({"note": f"deploy key {LEAKED_KEY}"}):
            self.client.chat.completions.create(
                model="openai/gpt-4o-mini",
                messages=user(f"my key {LEAKED_KEY}, header Authorization: Bearer {LEAKED_KEY}"),
            )

    def two_sessions(self) -> None:
        """The app names a session (OpenInference's session.id) and the request another
        (OpenRouter's `session_id`)."""
        with using_attributes(session_id="app-session"):
            self.client.chat.completions.create(
                model="openai/gpt-4o-mini",
                messages=user("Which session?"),
                extra_body={"session_id": "openrouter-session"},
            )

    def personal_data(self) -> None:
        self.client.chat.completions.create(model="openai/gpt-4o-mini", messages=user(PERSONAL))

    def run(self, name: str) -> list[Any]:
        scenario = getattr(self, name, None) or self._error(int(name.removeprefix("error_")))
        first = len(self.simulator.requests)
        tracer = trace.get_tracer("tests.scenarios")
        # Failed calls are scenarios too: their spans are what the tests check.
        with (
            tracer.start_as_current_span(f"scenario {name}"),
            contextlib.suppress(openai.OpenAIError),
        ):
            scenario()
        return [
            {"model": r["body"].get("model"), "response": r["response"]}
            for r in self.simulator.requests[first:]
        ]


def main(names: list[str]) -> None:
    provider = setup_tracing(service_name="scenarios")
    scenarios = Scenarios()
    answers = {name: scenarios.run(name) for name in names}
    provider.force_flush()
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
