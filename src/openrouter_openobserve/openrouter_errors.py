"""OpenRouter's own error fields onto the call's span, read from the responses the OpenAI
client receives.

OpenInference records a failed call as the exception's text, and openai 3's exception text
is the message alone: OpenRouter's `error.code` and `error.metadata.provider_name` are lost,
and so is the code of an error that arrives in the middle of a stream (HTTP status 200).
`openrouter_client()` installs `on_response` as an httpx response hook; it runs inside the
OpenInference span of the call and sets

- `server.address` and `server.port` (the collector labels `openrouter.ai` calls by them),
- `openrouter.error.code` and `openrouter.error.provider_name` of an error answer or of an
  SSE `error` chunk (OpenRouter's "Errors" and "Streaming" documentation).

It never records the message or the metadata that quotes the prompt (a moderation refusal's
`flagged_input`), and a failure in it never reaches the app.
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


def on_response(response: Any) -> None:
    """httpx response hook: the endpoint, and the error fields of a failed or streamed call."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    with contextlib.suppress(Exception):  # observing a call must never break it
        url = response.request.url
        span.set_attribute("server.address", url.host)
        if url.port:
            span.set_attribute("server.port", url.port)
        if response.status_code >= 400:
            response.read()
            record_error(span, json.loads(response.content).get("error"))
        elif response.headers.get("content-type", "").startswith("text/event-stream"):
            response.stream = scanner_for(response)(response.stream, span)


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


class StreamErrorScanner:
    """Passes a stream's bytes through unchanged, and records the `error` of an SSE chunk
    that has one (OpenRouter's mid-stream error) before the client raises it."""

    def __init__(self, stream: Any, span: trace.Span) -> None:
        self._stream = stream
        self._span = span
        self._partial = b""  # a line cut between two reads

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            data = self._partial + chunk
            cut = data.rfind(b"\n") + 1
            if b'"error"' in data[:cut]:
                self._scan(data[:cut])
            self._partial = data[cut:]
            yield chunk

    def _scan(self, lines: bytes) -> None:
        for line in lines.splitlines():
            if line.startswith(b"data: ") and b'"error"' in line:
                with contextlib.suppress(ValueError, AttributeError):
                    record_error(self._span, json.loads(line[6:]).get("error"))

    def close(self) -> None:
        self._stream.close()


def scanner_for(response: Any) -> type[StreamErrorScanner]:
    """The scanner as a byte stream of the response's HTTP library (openai 2 uses httpx,
    openai 3 httpx2), which checks the stream's type before reading it."""
    library = sys.modules[type(response).__module__.partition(".")[0]]
    return _scanner_class(library.SyncByteStream)


@functools.cache
def _scanner_class(byte_stream: type) -> type[StreamErrorScanner]:
    return type("StreamErrorScanner", (StreamErrorScanner, byte_stream), {})
