"""An OpenAI-compatible OpenRouter simulator for offline runs and tests.

`POST /api/v1/chat/completions` answers the way OpenRouter does:
- a `gen-...` id, the `model` that served the request, the upstream `provider`, and
  `usage` with the billed `cost` (USD), `is_byok`, cached and reasoning token details;
- streaming as server-sent events: `: OPENROUTER PROCESSING` comment lines, content
  chunks, a final chunk carrying `usage` with empty `choices`, then `data: [DONE]`;
- tool calls when the request offers tools, reasoning for reasoning models, prompt
  caching when a conversation's first message was seen before;
- errors as `{"error": {"code", "message", "metadata"}}` with the HTTP status, and
  errors in the middle of a stream (HTTP 200, an `error` chunk, `finish_reason: error`).

With `plain_openai=True` it answers as another OpenAI-compatible endpoint does instead, the
shape of OpenAI's own API (platform.openai.com/docs/api-reference/chat/object): at
`/v1/chat/completions`, a `chatcmpl-` id, no `provider`, no cost in `usage`, errors as
`{"error": {"message", "type", "param", "code"}}`. The bundle must leave such calls alone.

Every answered request is booked in its `ledger` (`openrouter_ledger.py`), which serves
`GET /api/v1/generation` and `GET /api/v1/activity` as OpenRouter does.

Faults and latency are set on the instance (`fail`, `fail_mid_stream`, `latency_s`,
`chunk_delay_s`, `byok`). Run with
`python -m openrouter_openobserve.testing.openrouter_simulator` or in-process with
`OpenRouterSimulator().start()`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openrouter_openobserve.testing.openrouter_ledger import (
    Ledger,
    generation_record,
    take_counted,
)


@dataclass(frozen=True)
class Model:
    provider: str
    prompt_usd_per_token: float
    completion_usd_per_token: float
    reasoning: bool = False


# A small catalogue in OpenRouter's slug form; prices are per token, in USD.
CATALOGUE: dict[str, Model] = {
    "openai/gpt-4o-mini": Model("OpenAI", 0.15e-6, 0.6e-6),
    "anthropic/claude-3.5-haiku": Model("Anthropic", 0.8e-6, 4e-6),
    "meta-llama/llama-3.1-8b-instruct": Model("DeepInfra", 0.02e-6, 0.05e-6),
    "mistralai/mistral-small-3.1-24b-instruct": Model("Mistral", 0.05e-6, 0.1e-6),
    "google/gemini-2.0-flash-001": Model("Google AI Studio", 0.1e-6, 0.4e-6),
    "deepseek/deepseek-r1": Model("Chutes", 0.4e-6, 2e-6, reasoning=True),
}
DEFAULT_MODEL = "openai/gpt-4o-mini"
UNKNOWN_MODEL = Model("SimulatedProvider", 0.1e-6, 0.2e-6)
BYOK_FEE = 0.05  # OpenRouter bills 5% of the upstream cost on BYOK requests
CACHED_PRICE_FACTOR = 0.25  # cached prompt tokens bill at a quarter of the price


@dataclass
class Fault:
    status: int
    message: str
    remaining: int


# The arguments of every tool call it makes: a text of its own, so that a test can tell them
# from the prompt that led to them.
TOOL_ARGUMENTS = '{"query": "simulated tool query"}'


def resolve_model(requested: str) -> tuple[str, Model]:
    """The slug that serves a request (`openrouter/auto` picks the default) and its data."""
    base = requested.removesuffix(":free")
    if base == "openrouter/auto":
        base = DEFAULT_MODEL
    model = CATALOGUE.get(base, UNKNOWN_MODEL)
    if requested.endswith(":free"):
        return requested, Model(model.provider, 0.0, 0.0, model.reasoning)
    return base, model


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per word, at least one."""
    return max(1, len(text.split()))


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def new_id() -> str:
    return f"gen-{int(time.time())}-{secrets.token_urlsafe(15)}"


@dataclass
class Answer:
    """What the simulated model says to one request, before it is shaped as JSON or SSE."""

    served: str
    model: Model
    content: str | None
    reasoning: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    usage: dict[str, Any]
    id: str = field(default_factory=new_id)
    created: int = field(default_factory=lambda: int(time.time()))


class OpenRouterSimulator:
    """In-process simulator; `base_url` is what the OpenAI client takes."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        plain_openai: bool = False,
    ) -> None:
        self.plain_openai = plain_openai
        self.latency_s = latency_s  # before the response (or the first chunk) starts
        self.chunk_delay_s = chunk_delay_s  # between streamed chunks
        self.byok = False  # bill as Bring Your Own Key requests
        self.requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._mid_stream_faults = 0
        self._seen_openings: set[str] = set()
        self._lock = threading.Lock()
        self.ledger = Ledger()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True

    # lifecycle
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.api_prefix}"

    @property
    def api_prefix(self) -> str:
        return "/v1" if self.plain_openai else "/api/v1"

    def start(self) -> OpenRouterSimulator:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> OpenRouterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # fault injection
    def fail(self, status: int, message: str = "", count: int = 1) -> None:
        """Answer the next `count` requests with OpenRouter's error JSON and `status`."""
        with self._lock:
            self._faults.append(
                Fault(status, message or DEFAULT_ERRORS.get(status, "Error"), count)
            )

    def fail_mid_stream(self, count: int = 1) -> None:
        """Break the next `count` streams after their first content chunk."""
        with self._lock:
            self._mid_stream_faults += count

    def take_fault(self) -> Fault | None:
        return take_counted(self._faults, self._lock)

    def take_mid_stream_fault(self) -> bool:
        with self._lock:
            if self._mid_stream_faults <= 0:
                return False
            self._mid_stream_faults -= 1
            return True

    def record(self, headers: dict[str, str], body: dict[str, Any], response: Any) -> None:
        """Keep each request with the response sent, for tests to compare against."""
        with self._lock:
            self.requests.append({"headers": headers, "body": body, "response": response})

    # answers
    def shape(self, document: dict[str, Any]) -> dict[str, Any]:
        """A response or chunk as this endpoint sends it: OpenRouter's, or plain OpenAI's."""
        return as_plain_openai(document) if self.plain_openai else document

    def answer(self, request: dict[str, Any]) -> Answer:
        served, model = resolve_model(request.get("model") or DEFAULT_MODEL)
        messages = request.get("messages") or []
        last_user = next(
            (message_text(m) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        tool_calls = _tool_calls(request, messages)
        content = None if tool_calls else f"Simulated answer from {served}: {last_user[:200]}"
        reasoning = f"Thinking about: {last_user[:80]}" if model.reasoning else None
        prompt_tokens = sum(count_tokens(message_text(m)) + 3 for m in messages) + _tools_tokens(
            request
        )
        cached = self._cached_tokens(messages)
        completion_tokens = count_tokens(content or json.dumps(tool_calls))
        reasoning_tokens = count_tokens(reasoning) if reasoning else 0
        return Answer(
            served=served,
            model=model,
            content=content,
            reasoning=reasoning,
            tool_calls=tool_calls,
            finish_reason="tool_calls" if tool_calls else "stop",
            usage=self._usage(model, prompt_tokens, cached, completion_tokens, reasoning_tokens),
        )

    def _cached_tokens(self, messages: list[dict[str, Any]]) -> int:
        """A conversation whose first message was sent before reads it from the cache."""
        if len(messages) < 1:
            return 0
        opening = message_text(messages[0])
        with self._lock:
            hit = opening in self._seen_openings
            self._seen_openings.add(opening)
        return count_tokens(opening) + 3 if hit else 0

    def _usage(
        self, model: Model, prompt: int, cached: int, completion: int, reasoning: int
    ) -> dict[str, Any]:
        upstream = (
            (prompt - cached) * model.prompt_usd_per_token
            + cached * model.prompt_usd_per_token * CACHED_PRICE_FACTOR
            + (completion + reasoning) * model.completion_usd_per_token
        )
        cost = upstream * BYOK_FEE if self.byok else upstream
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion + reasoning,
            "total_tokens": prompt + completion + reasoning,
            "cost": round(cost, 12),
            "is_byok": self.byok,
            "prompt_tokens_details": {
                "cached_tokens": cached,
                "cache_write_tokens": 0,
                "audio_tokens": 0,
            },
            "cost_details": {"upstream_inference_cost": round(upstream, 12) if self.byok else None},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "image_tokens": 0},
        }


DEFAULT_ERRORS = {
    400: "Invalid request: messages must be a non-empty array",
    401: "No auth credentials found",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: "Your input was flagged by moderation",
    408: "Request timed out upstream",
    429: "Rate limit exceeded: free-models-per-day",
    502: "Provider returned error",
    503: "No available provider meets your routing requirements",
}


def _tool_calls(request: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Call the first offered tool, unless the conversation just got a tool's result."""
    tools = request.get("tools") or []
    if not tools or request.get("tool_choice") == "none":
        return []
    if messages and messages[-1].get("role") == "tool":
        return []
    function = tools[0].get("function", {})
    return [
        {
            "id": f"call_{secrets.token_hex(8)}",
            "type": "function",
            "index": 0,
            "function": {"name": function.get("name", "tool"), "arguments": TOOL_ARGUMENTS},
        }
    ]


def _tools_tokens(request: dict[str, Any]) -> int:
    return sum(count_tokens(json.dumps(tool)) for tool in request.get("tools") or [])


def completion_body(answer: Answer) -> dict[str, Any]:
    """The non-streaming response JSON."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.content,
        "refusal": None,
        "reasoning": answer.reasoning,
    }
    if answer.tool_calls:
        message["tool_calls"] = [
            {k: v for k, v in c.items() if k != "index"} for c in answer.tool_calls
        ]
    return {
        "id": answer.id,
        "provider": answer.model.provider,
        "model": answer.served,
        "object": "chat.completion",
        "created": answer.created,
        "choices": [
            {
                "logprobs": None,
                "finish_reason": answer.finish_reason,
                "native_finish_reason": answer.finish_reason,
                "index": 0,
                "message": message,
            }
        ],
        "system_fingerprint": None,
        "usage": answer.usage,
    }


def stream_chunks(answer: Answer, break_mid_stream: bool) -> Iterator[dict[str, Any]]:
    """The chunk objects of a stream, the last one carrying usage with empty choices."""
    base = {
        "id": answer.id,
        "provider": answer.model.provider,
        "model": answer.served,
        "object": "chat.completion.chunk",
        "created": answer.created,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {
            "index": 0,
            "delta": delta,
            "finish_reason": finish,
            "native_finish_reason": finish,
            "logprobs": None,
        }
        return {**base, "choices": [choice]}

    if answer.reasoning:
        yield chunk({"role": "assistant", "content": "", "reasoning": answer.reasoning})
    if answer.tool_calls:
        yield chunk({"role": "assistant", "content": None, "tool_calls": answer.tool_calls})
    words = (answer.content or "").split(" ")
    for position, word in enumerate(words if answer.content else []):
        yield chunk({"role": "assistant", "content": word if position == 0 else " " + word})
        if break_mid_stream:
            error = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
            yield {**chunk({"content": ""}, "error"), "error": error}
            return
    yield chunk({"role": "assistant", "content": ""}, answer.finish_reason)
    yield {**base, "choices": [], "usage": answer.usage}


def error_body(status: int, message: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenRouter's error JSON (openrouter.ai/docs, "Errors and Debugging")."""
    return {"error": {"code": status, "message": message, "metadata": metadata or {}}}


def as_plain_openai(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenRouter response or chunk in OpenAI's own shape: a `chatcmpl-` id and none of
    the fields OpenRouter adds (`provider`, `native_finish_reason`, `reasoning`, the cost
    and BYOK fields of `usage`, `cache_write_tokens`)."""
    plain = {key: value for key, value in document.items() if key != "provider"}
    if isinstance(plain.get("id"), str):
        plain["id"] = "chatcmpl-" + plain["id"].rsplit("-", 1)[-1]
    plain["choices"] = [_plain_choice(choice) for choice in plain.get("choices", [])]
    if isinstance(usage := plain.get("usage"), dict):
        usage = {k: v for k, v in usage.items() if k not in ("cost", "is_byok", "cost_details")}
        details = usage.get("prompt_tokens_details") or {}
        usage["prompt_tokens_details"] = {
            k: v for k, v in details.items() if k != "cache_write_tokens"
        }
        plain["usage"] = usage
    return plain


def _plain_choice(choice: dict[str, Any]) -> dict[str, Any]:
    choice = {key: value for key, value in choice.items() if key != "native_finish_reason"}
    for part in ("message", "delta"):
        if isinstance(choice.get(part), dict):
            choice[part] = {k: v for k, v in choice[part].items() if k != "reasoning"}
    return choice


def plain_error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error JSON (platform.openai.com/docs/guides/error-codes)."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def moderation_metadata(request: dict[str, Any]) -> dict[str, Any]:
    """A moderation refusal's `error.metadata` as OpenRouter documents it ("Moderation
    Errors"): the reasons, the flagged input (up to 100 characters of it), the provider and
    the model. The flagged input is the user's own text."""
    messages = request.get("messages") or [{}]
    text = str(messages[-1].get("content") or "")
    served, model = resolve_model(request.get("model") or DEFAULT_MODEL)
    return {
        "reasons": ["harassment"],
        "flagged_input": text[:100],
        "provider_name": model.provider,
        "model_slug": served,
    }


def _handler_for(simulator: OpenRouterSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls
        server_version = "openrouter-simulator"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            key = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            path = url.path.rstrip("/")
            if path == simulator.api_prefix + "/models":
                data = [{"id": slug, "name": slug} for slug in CATALOGUE]
                self._json(200, {"data": data})
            elif path == simulator.api_prefix + "/generation" and not simulator.plain_openai:
                self._json(*simulator.ledger.generation(key, query.get("id", "")))
            elif path == simulator.api_prefix + "/activity" and not simulator.plain_openai:
                self._json(*simulator.ledger.activity(key, query.get("date")))
            else:
                self._json(404, error_body(404, "Not Found"))

        def do_POST(self) -> None:
            started = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != simulator.api_prefix + "/chat/completions":
                self._json(404, error_body(404, "Not Found"))
                return
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                self._json(401, error_body(401, DEFAULT_ERRORS[401]))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._json(400, error_body(400, "Invalid JSON body"))
                return
            if simulator.latency_s:
                time.sleep(simulator.latency_s)
            if (fault := simulator.take_fault()) is not None:
                metadata = moderation_metadata(body) if fault.status == 403 else None
                refusal = (
                    plain_error_body(fault.status, fault.message)
                    if simulator.plain_openai
                    else error_body(fault.status, fault.message, metadata)
                )
                simulator.record(dict(self.headers), body, refusal)
                self._json(fault.status, refusal)
                return
            answer = simulator.answer(body)
            if body.get("stream"):
                broken = simulator.take_mid_stream_fault()
                chunks = [simulator.shape(c) for c in stream_chunks(answer, broken)]
                simulator.record(dict(self.headers), body, chunks)
                first_chunk = time.monotonic()
                self._stream(chunks)
                if not broken and not simulator.plain_openai:
                    self._bill(answer, True, started, first_chunk)
            else:
                response = simulator.shape(completion_body(answer))
                simulator.record(dict(self.headers), body, response)
                self._json(200, response)
                if not simulator.plain_openai:
                    self._bill(answer, False, started, started)

        def _bill(self, answer: Answer, streamed: bool, started: float, first: float) -> None:
            done = time.monotonic()
            latency_ms, generation_ms = (first - started) * 1000, (done - first) * 1000
            simulator.ledger.bill(generation_record(answer, streamed, latency_ms, generation_ms))

        def _json(
            self, status: int, document: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, chunks: list[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            # OpenRouter keeps the connection alive with SSE comments while it routes.
            self._write(b": OPENROUTER PROCESSING\n\n")
            for chunk in chunks:
                if simulator.chunk_delay_s:
                    time.sleep(simulator.chunk_delay_s)
                self._write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self._write(b"data: [DONE]\n\n")

        def _write(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

    return Handler


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="OpenRouter simulator (OpenAI-compatible)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument(
        "--plain-openai", action="store_true", help="answer as a plain OpenAI endpoint"
    )
    args = parser.parse_args()
    simulator = OpenRouterSimulator(
        args.host, args.port, args.latency, args.chunk_delay, args.plain_openai
    )
    print(f"OpenRouter simulator listening on {simulator.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        simulator.serve_forever()


if __name__ == "__main__":
    main()
