"""OpenRouter client factory: the OpenAI client pointed at OpenRouter (or the simulator)."""

from __future__ import annotations

import os

from openai import DefaultHttpxClient, OpenAI

from openrouter_openobserve.openrouter_response import on_response

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
# The simulator accepts any bearer token; this one is recognisably not a real key.
OFFLINE_API_KEY = "sk-or-offline-simulator"


def attribution_headers() -> dict[str, str]:
    """OpenRouter's app attribution headers, from the environment when set. HTTP headers
    carry ASCII only: a title with other characters is refused here, once, with its name."""
    headers = {}
    if referer := os.environ.get("OPENROUTER_HTTP_REFERER"):
        headers["HTTP-Referer"] = referer
    if title := os.environ.get("OPENROUTER_APP_TITLE"):
        headers["X-OpenRouter-Title"] = title
    for name, value in headers.items():
        if not value.isascii() or not value.isprintable():
            raise ValueError(f"{name} header: expected printable ASCII, got {value!r}")
    return headers


def openrouter_client(
    api_key: str | None = None, base_url: str | None = None, timeout_s: float = 60.0
) -> OpenAI:
    """An OpenAI client for OpenRouter; key and URL default to OPENROUTER_API_KEY and
    OPENROUTER_BASE_URL. Without a key it refuses, rather than calling anything else. The
    span of each call gets OpenRouter's billed cost and upstream provider, or its error code
    and refusing provider, whatever instrumentation made it (openrouter_response)."""
    key = api_key or os.environ.get("OPENROUTER_API_KEY")
    if not key:
        raise ValueError("OPENROUTER_API_KEY is not set")
    return OpenAI(
        api_key=key,
        base_url=base_url or os.environ.get("OPENROUTER_BASE_URL") or OPENROUTER_BASE_URL,
        default_headers=attribution_headers(),
        http_client=DefaultHttpxClient(event_hooks={"response": [on_response]}),
        timeout=timeout_s,
        max_retries=0,  # a retried call would show as one slow span; let the caller decide
    )
