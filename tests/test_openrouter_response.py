"""The client's response hook puts OpenRouter's billed cost and upstream provider, and its error
code and refusing provider, on the call's span, whatever instrumentation made the span and
whatever the openai version's exception text; it never records the prompt a refusal quotes,
and a body it cannot read never changes what the app sees."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openrouter_openobserve.client import OFFLINE_API_KEY, openrouter_client
from openrouter_openobserve.openrouter_response import (
    COST,
    ERROR_CODE,
    ERROR_PROVIDER,
    PROVIDER,
    scanner_for,
)
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator

SECRET_PROMPT = "please quote me PROMPT-7f3a"
# The HTTP library of the installed openai: httpx before openai 3, httpx2 since.
http = importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.partition(".")[0])


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def answered_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, call: object
) -> ReadableSpan:
    with provider.get_tracer("test").start_as_current_span("call"):
        call()  # type: ignore[operator]
    (span,) = exporter.get_finished_spans()
    return span


def test_an_answer_and_a_stream_carry_the_billed_cost_and_provider(
    simulator: OpenRouterSimulator, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    client = openrouter_client(api_key=OFFLINE_API_KEY, base_url=simulator.base_url)
    messages = [{"role": "user", "content": "one two"}]
    span = answered_span(
        *spans,
        lambda: client.chat.completions.create(
            model="anthropic/claude-3.5-haiku", messages=messages
        ),
    )
    billed = simulator.requests[-1]["response"]["usage"]["cost"]
    assert span.attributes[COST] == billed and span.attributes[PROVIDER] == "Anthropic"

    def stream() -> None:
        for _ in client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=messages, stream=True
        ):
            pass

    spans[1].clear()
    span = answered_span(*spans, stream)
    billed = simulator.requests[-1]["response"][-1]["usage"]["cost"]
    assert span.attributes[COST] == billed and span.attributes[PROVIDER] == "OpenAI"


def call_span(
    provider: TracerProvider, exporter: InMemorySpanExporter, call: object
) -> ReadableSpan:
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("call"), pytest.raises(openai.APIError):
        call()  # type: ignore[operator]
    (span,) = exporter.get_finished_spans()
    return span


def test_a_refusal_names_its_code_and_provider_not_the_prompt(
    simulator: OpenRouterSimulator, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    client = openrouter_client(api_key=OFFLINE_API_KEY, base_url=simulator.base_url)
    simulator.fail(403)
    span = call_span(
        *spans,
        lambda: client.chat.completions.create(
            model="anthropic/claude-3.5-haiku",
            messages=[{"role": "user", "content": SECRET_PROMPT}],
        ),
    )
    assert span.attributes[ERROR_CODE] == 403
    assert span.attributes[ERROR_PROVIDER] == "Anthropic"
    assert span.attributes["server.address"] == "127.0.0.1"
    assert SECRET_PROMPT not in json.dumps(dict(span.attributes))


def test_a_mid_stream_error_carries_the_streams_code(
    simulator: OpenRouterSimulator, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    client = openrouter_client(api_key=OFFLINE_API_KEY, base_url=simulator.base_url)
    simulator.fail_mid_stream()

    def stream() -> None:
        for _ in client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "a b"}], stream=True
        ):
            pass

    assert call_span(*spans, stream).attributes[ERROR_CODE] == "server_error"


def test_an_error_line_cut_between_reads_is_still_read(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    line = b'data: {"choices": [], "error": {"code": "server_error", "message": "gone"}}\n\n'
    reads = [b": OPENROUTER PROCESSING\n\n", line[:20], line[20:]]
    response = http.Response(200, stream=http.ByteStream(b""))
    with provider.get_tracer("test").start_as_current_span("call") as span:
        passed = b"".join(scanner_for(response)(iter(reads), span))
    assert passed == b"".join(reads)
    assert exporter.get_finished_spans()[0].attributes[ERROR_CODE] == "server_error"


def test_an_unreadable_error_body_changes_nothing_for_the_app(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    def html_gateway(request: http.Request) -> http.Response:
        return http.Response(502, text="<html>Bad gateway</html>")

    client = openrouter_client(api_key=OFFLINE_API_KEY, base_url="http://gateway.test/api/v1")
    client._client = openai.DefaultHttpxClient(  # the same hook, on a transport that answers HTML
        transport=http.MockTransport(html_gateway),
        event_hooks=client._client.event_hooks,
    )
    span = call_span(
        *spans,
        lambda: client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        ),
    )
    assert ERROR_CODE not in span.attributes
    assert span.attributes["server.address"] == "gateway.test"
