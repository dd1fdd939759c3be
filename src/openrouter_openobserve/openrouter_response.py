"""OpenRouter's own fields onto the call's span, read from the responses the OpenAI client
receives, whatever instrumentation made the span.

Instrumentations record what the OpenAI API defines: OpenTelemetry's GenAI conventions have
no billed cost or upstream provider, and OpenInference records a failed call as the
exception's text, which with openai 3 is the message alone (no `error.code`, no
`error.metadata.provider_name`, no code of an error in the middle of a stream).
`openrouter_client()` installs `on_response` as an httpx response hook; it runs inside the
span of the call and sets

- `server.address` and `server.port` (the collector labels `openrouter.ai` calls by them);
- from the request: `openrouter.session_id`, the `session_id` OpenRouter groups the call
  under (instrumentations do not record `extra_body`); the collector makes it the session;
- from a successful answer (the JSON body, or a stream's usage chunk): `openrouter.billed_cost`
  (the collector makes it `gen_ai.usage.cost`: an instrumentation that writes its own price
  estimate there, OpenLIT's, would overwrite it), `openrouter.provider`, `openrouter.is_byok`,
  `openrouter.upstream_cost` and `gen_ai.response.id`: with them on an OpenInference span,
  the collector need not parse the response JSON in `output.value`;
- from an error answer or an SSE `error` chunk (OpenRouter's "Errors" and "Streaming"
  documentation): `openrouter.error.code` and `openrouter.error.provider_name`.

It never records a message, content, or the metadata that quotes the prompt (a moderation
refusal's `flagged_input`), and a failure in it never reaches the app.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace

ERROR_CODE = "openrouter.error.code"
ERROR_PROVIDER = "openrouter.error.provider_name"
COST = "openrouter.billed_cost"
PROVIDER = "openrouter.provider"
SESSION = "openrouter.session_id"


def on_response(response: Any) -> None:
    """httpx response hook: the endpoint, and OpenRouter's fields of the answer."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    with contextlib.suppress(Exception):  # observing a call must never break it
        url = response.request.url
        span.set_attribute("server.address", url.host)
        if url.port:
            span.set_attribute("server.port", url.port)
        record_session(span, response.request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = scanner_for(response)(response.stream, span)
            return
        response.read()
        answer = json.loads(response.content)
        if response.status_code >= 400:
            record_error(span, answer.get("error"))
        else:
            record_answer(span, answer)


def record_session(span: trace.Span, request: Any) -> None:
    """The request body's `session_id`; the body is parsed only when it names one."""
    body = request.content
    if b'"session_id"' in body:
        session = json.loads(body).get("session_id")
        if isinstance(session, str) and session:
            span.set_attribute(SESSION, session)


def record_answer(span: trace.Span, answer: Any) -> None:
    """Set the billed cost and upstream provider of an answer (or a stream's usage chunk)."""
    if not isinstance(answer, dict):
        return
    if isinstance(answer.get("id"), str):
        span.set_attribute("gen_ai.response.id", answer["id"])
    if isinstance(answer.get("provider"), str):
        span.set_attribute(PROVIDER, answer["provider"])
    usage = answer.get("usage")
    if not isinstance(usage, dict):
        return
    if _is_number(usage.get("cost")):
        span.set_attribute(COST, float(usage["cost"]))
    if isinstance(usage.get("is_byok"), bool):
        span.set_attribute("openrouter.is_byok", usage["is_byok"])
    details = usage.get("cost_details")
    if isinstance(details, dict) and _is_number(details.get("upstream_inference_cost")):
        span.set_attribute("openrouter.upstream_cost", float(details["upstream_inference_cost"]))


def record_error(span: trace.Span, error: Any) -> None:
    """Set OpenRouter's `error.code` and `error.metadata.provider_name` on `span`."""
    if not isinstance(error, dict):
        return
    code = error.get("code")
    if isinstance(code, (int, str)) and not isinstance(code, bool):
        span.set_attribute(ERROR_CODE, code)
    metadata = error.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("provider_name"), str):
        span.set_attribute(ERROR_PROVIDER, metadata["provider_name"])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class StreamScanner:
    """Passes a stream's bytes through unchanged, and records OpenRouter's fields of the SSE
    chunks that carry them (the usage chunk, an `error` chunk) before the client reads on."""

    MARKS = (b'"error"', b'"cost"')

    def __init__(self, stream: Any, span: trace.Span) -> None:
        self._stream = stream
        self._span = span
        self._partial = b""  # a line cut between two reads

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            data = self._partial + chunk
            cut = data.rfind(b"\n") + 1
            if any(mark in data[:cut] for mark in self.MARKS):
                self._scan(data[:cut])
            self._partial = data[cut:]
            yield chunk

    def _scan(self, lines: bytes) -> None:
        for line in lines.splitlines():
            if not line.startswith(b"data: ") or not any(mark in line for mark in self.MARKS):
                continue
            with contextlib.suppress(ValueError, AttributeError):
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    record_error(self._span, chunk["error"])
                else:
                    record_answer(self._span, chunk)

    def close(self) -> None:
        self._stream.close()


def scanner_for(response: Any) -> type[StreamScanner]:
    """The scanner as a byte stream of the response's HTTP library (openai 2 uses httpx,
    openai 3 httpx2), which checks the stream's type before reading it."""
    library = sys.modules[type(response).__module__.partition(".")[0]]
    return _scanner_class(library.SyncByteStream)


@functools.cache
def _scanner_class(byte_stream: type) -> type[StreamScanner]:
    return type("StreamScanner", (StreamScanner, byte_stream), {})
