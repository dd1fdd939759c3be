"""An OpenAI-compatible OpenRouter simulator for offline runs and tests.

`POST /api/v1/chat/completions` answers with OpenRouter's response shape: a
`gen-...` id, the `model` that served the request, the upstream `provider`, and
`usage` with the billed `cost` (USD). Run it with `python -m app.openrouter_simulator`
or in-process with `OpenRouterSimulator().start()`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Model:
    provider: str
    prompt_usd_per_token: float
    completion_usd_per_token: float


# A small catalogue in OpenRouter's slug form; prices are per token, in USD.
CATALOGUE: dict[str, Model] = {
    "openai/gpt-4o-mini": Model("OpenAI", 0.15e-6, 0.6e-6),
    "anthropic/claude-3.5-haiku": Model("Anthropic", 0.8e-6, 4e-6),
    "meta-llama/llama-3.1-8b-instruct": Model("DeepInfra", 0.02e-6, 0.05e-6),
    "mistralai/mistral-small-3.1-24b-instruct": Model("Mistral", 0.05e-6, 0.1e-6),
    "google/gemini-2.0-flash-001": Model("Google AI Studio", 0.1e-6, 0.4e-6),
    "deepseek/deepseek-r1": Model("Chutes", 0.4e-6, 2e-6),
}
DEFAULT_MODEL = "openai/gpt-4o-mini"


def resolve_model(requested: str) -> tuple[str, Model]:
    """The slug that serves a request (`openrouter/auto` picks the default) and its data."""
    base = requested.removesuffix(":free")
    if base == "openrouter/auto" or base not in CATALOGUE:
        base = DEFAULT_MODEL if base == "openrouter/auto" else base
    model = CATALOGUE.get(base, Model("SimulatedProvider", 0.1e-6, 0.2e-6))
    if requested.endswith(":free"):
        model = Model(model.provider, 0.0, 0.0)
        return requested, model
    return base, model


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per word, at least one."""
    return max(1, len(text.split()))


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def completion(request: dict[str, Any]) -> dict[str, Any]:
    """The OpenRouter-shaped response to a chat completion request."""
    requested = request.get("model") or DEFAULT_MODEL
    served, model = resolve_model(requested)
    messages = request.get("messages") or []
    prompt = " ".join(message_text(m) for m in messages)
    last_user = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    reply = f"Simulated answer from {served}: {last_user[:200]}".strip()
    prompt_tokens = count_tokens(prompt) + 3 * len(messages)
    completion_tokens = count_tokens(reply)
    cost = (
        prompt_tokens * model.prompt_usd_per_token
        + completion_tokens * model.completion_usd_per_token
    )
    created = int(time.time())
    return {
        "id": f"gen-{created}-{secrets.token_urlsafe(15)}",
        "provider": model.provider,
        "model": served,
        "object": "chat.completion",
        "created": created,
        "choices": [
            {
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply,
                    "refusal": None,
                    "reasoning": None,
                },
            }
        ],
        "system_fingerprint": None,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "cost": round(cost, 12),
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "cost_details": {"upstream_inference_cost": None},
            "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
        },
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenRouter's error JSON."""
    return {"error": {"code": status, "message": message}}


class OpenRouterSimulator:
    """In-process simulator; `base_url` is what the OpenAI client takes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v1"

    def start(self) -> OpenRouterSimulator:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenRouterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, headers: dict[str, str], body: dict[str, Any], response: Any) -> None:
        """Keep each request with the response sent, for tests to compare against."""
        with self._lock:
            self.requests.append({"headers": headers, "body": body, "response": response})

    def serve_forever(self) -> None:
        self._server.serve_forever()


def _handler_for(simulator: OpenRouterSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "openrouter-simulator"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/api/v1/models":
                data = [{"id": slug, "name": slug} for slug in CATALOGUE]
                self._json(200, {"data": data})
            else:
                self._json(404, error_body(404, "Not Found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/api/v1/chat/completions":
                self._json(404, error_body(404, "Not Found"))
                return
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                self._json(401, error_body(401, "No auth credentials found"))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._json(400, error_body(400, "Invalid JSON body"))
                return
            if simulator.latency_s:
                time.sleep(simulator.latency_s)
            response = completion(body)
            simulator.record(dict(self.headers), body, response)
            self._json(200, response)

        def _json(self, status: int, document: dict[str, Any]) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="OpenRouter simulator (OpenAI-compatible)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    args = parser.parse_args()
    simulator = OpenRouterSimulator(args.host, args.port, args.latency)
    print(f"OpenRouter simulator listening on {simulator.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        simulator.serve_forever()


if __name__ == "__main__":
    main()
