"""The example app: `python -m app ask PROMPT` and `python -m app compare PROMPT --models A,B,C`."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from dotenv import load_dotenv
from openai import OpenAI, OpenAIError

from app.telemetry import export_logs_and_metrics
from openrouter_openobserve.client import OFFLINE_API_KEY, openrouter_client
from openrouter_openobserve.table import format_table
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from openrouter_openobserve.tracing import setup_tracing

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


# Spans of calls answered by the simulator say so: they must never pass for real spend.
SIMULATED = {"openrouter.simulated": True}
# The app's own log lines and its answers counter, exported beside its spans.
log = logging.getLogger("app")
answers: Any = None


def _offline(flag: bool) -> bool:
    """Offline only when asked: --offline, or OPENROUTER_OFFLINE=true in .env."""
    return flag or os.environ.get("OPENROUTER_OFFLINE", "").strip().lower() == "true"


def _traced_client(offline: bool) -> OpenAI:
    """Tracing, then OpenRouter; or, offline, the bundled simulator (the one at
    OPENROUTER_SIMULATOR_URL, else one started in this process), its spans marked."""
    global answers
    try:
        if offline:
            setup_tracing(resource_attributes=SIMULATED)
            _, answers = export_logs_and_metrics()
            simulator_url = os.environ.get("OPENROUTER_SIMULATOR_URL")
            base_url = simulator_url or OpenRouterSimulator().start().base_url
            return openrouter_client(api_key=OFFLINE_API_KEY, base_url=base_url)
        setup_tracing()
        _, answers = export_logs_and_metrics()
        return openrouter_client()
    except ValueError as error:
        raise click.ClickException(
            f"{error}: set it in .env, or use the bundled OpenRouter simulator with --offline "
            "(or OPENROUTER_OFFLINE=true)"
            if "OPENROUTER_API_KEY" in str(error)
            else str(error)
        ) from None


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
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".env"),
    show_default=True,
    help="Settings file; real environment variables win over it.",
)
def main(env_file: Path) -> None:
    """Call OpenRouter with every request traced to the local collector."""
    load_dotenv(env_file, override=False)


@main.command()
@click.argument("prompt")
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="OpenRouter model slug.")
@click.option("--stream", is_flag=True, help="Stream the answer as it is generated.")
@click.option(
    "--offline", is_flag=True, help="Use the bundled OpenRouter simulator (spans marked simulated)."
)
def ask(prompt: str, model: str, stream: bool, offline: bool) -> None:
    """Send PROMPT to MODEL and print the answer."""
    client = _traced_client(_offline(offline))
    try:
        if not stream:
            response, _ = _call(client, model, prompt)
            click.echo(response.choices[0].message.content)
            return
        chunks = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], stream=True
        )
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                click.echo(chunk.choices[0].delta.content, nl=False)
        click.echo()
    except OpenAIError as error:  # the span records the failure; the user gets one line
        message = f"OpenRouter call failed: {type(error).__name__}: {error}"
        raise click.ClickException(message) from None


@main.command()
@click.argument("prompt")
@click.option("--models", default=DEFAULT_COMPARE, show_default=True, help="Comma-separated slugs.")
@click.option(
    "--offline", is_flag=True, help="Use the bundled OpenRouter simulator (spans marked simulated)."
)
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    default=None,
    help="Repeat every SECONDS until stopped (the compose demo keeps traffic flowing).",
)
def compare(prompt: str, models: str, offline: bool, every: float | None) -> None:
    """Send the same PROMPT to several models; print provider, tokens, cost and latency."""
    client = _traced_client(_offline(offline))
    slugs = [m.strip() for m in models.split(",") if m.strip()]
    while True:
        click.echo(results_table([_call_or_error(client, model, prompt) for model in slugs]))
        if every is None:
            return
        time.sleep(every)


def _call_or_error(client: OpenAI, model: str, prompt: str) -> CallResult:
    """One model's row; a failing model must not hide the others. Each answer is also a log
    line and a count of the app's own."""
    try:
        result = _call(client, model, prompt)[1]
        log.info("%s answered by %s in %.0f ms", model, result.provider, result.latency_ms)
    except OpenAIError as error:
        result = CallResult(model, "-", None, None, None, 0.0, type(error).__name__)
        log.warning("%s failed: %s", model, result.error)
    if answers is not None:
        answers.add(1, {"gen_ai.request.model": model, "outcome": result.error or "ok"})
    return result


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
