"""The example app: `python -m app ask PROMPT` and `python -m app compare PROMPT --models A,B,C`."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import click
from openai import OpenAI

from app.client import openrouter_client
from app.openrouter_simulator import OpenRouterSimulator
from app.table import format_table
from app.tracing import setup_tracing

DEFAULT_MODEL = "openai/gpt-4o-mini"
DEFAULT_COMPARE = "openai/gpt-4o-mini,anthropic/claude-3.5-haiku,meta-llama/llama-3.1-8b-instruct"


@dataclass
class CallResult:
    model: str
    provider: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float
    error: str = ""


def _client(offline: bool) -> OpenAI:
    """OpenRouter, or the bundled simulator when offline (no key, or --offline)."""
    if offline or not os.environ.get("OPENROUTER_API_KEY"):
        base_url = os.environ.get("OPENROUTER_BASE_URL") or OpenRouterSimulator().start().base_url
        return openrouter_client(base_url=base_url)
    return openrouter_client()


def _call(client: OpenAI, model: str, prompt: str) -> tuple[Any, CallResult]:
    started = time.perf_counter()
    response = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}]
    )
    latency_ms = (time.perf_counter() - started) * 1000
    usage = response.usage
    return response, CallResult(
        model=response.model,
        # OpenRouter's own fields ride along as extras on the OpenAI response objects.
        provider=getattr(response, "provider", None) or "?",
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        cost_usd=getattr(usage, "cost", None) if usage else None,
        latency_ms=latency_ms,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Call OpenRouter with every request traced to the local collector."""


@main.command()
@click.argument("prompt")
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="OpenRouter model slug.")
@click.option("--offline", is_flag=True, help="Use the bundled OpenRouter simulator.")
def ask(prompt: str, model: str, offline: bool) -> None:
    """Send PROMPT to MODEL and print the answer."""
    setup_tracing()
    response, _ = _call(_client(offline), model, prompt)
    click.echo(response.choices[0].message.content)


@main.command()
@click.argument("prompt")
@click.option("--models", default=DEFAULT_COMPARE, show_default=True, help="Comma-separated slugs.")
@click.option("--offline", is_flag=True, help="Use the bundled OpenRouter simulator.")
def compare(prompt: str, models: str, offline: bool) -> None:
    """Send the same PROMPT to several models; print provider, tokens, cost and latency."""
    setup_tracing()
    client = _client(offline)
    results = []
    for model in [m.strip() for m in models.split(",") if m.strip()]:
        try:
            results.append(_call(client, model, prompt)[1])
        except Exception as error:  # one failing model must not hide the others
            results.append(CallResult(model, "-", None, None, None, 0.0, type(error).__name__))
    click.echo(results_table(results))


def results_table(results: list[CallResult]) -> str:
    header = ("model", "provider", "prompt tok", "completion tok", "cost USD", "latency ms")
    return format_table(
        header,
        [
            (
                r.model,
                r.provider if not r.error else f"error: {r.error}",
                _or_dash(r.prompt_tokens),
                _or_dash(r.completion_tokens),
                "-" if r.cost_usd is None else f"{r.cost_usd:.8f}",
                f"{r.latency_ms:.0f}",
            )
            for r in results
        ],
    )


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)
