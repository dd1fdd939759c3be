"""A steady app for the chaos tests: LLM-shaped spans at a fixed rate, through the bundle's
own tracing setup (SDK batch processor, OTLP/gRPC to the collector).

    python -m tests.load_app --rate 20 --seconds 70 [--burst-at 5 --burst-seconds 10 ...]
    python -m tests.load_app --calls --rate 5 --seconds 10     # real OpenAI calls to a simulator

Prints one JSON object at exit: the ids of every span it ended, the number of errors it
saw, and the longest time one unit of work (a span, or a call) took in the app.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
from opentelemetry import trace

from openrouter_openobserve.tracing import setup_tracing

ATTRIBUTES = {
    "openinference.span.kind": "LLM",
    "llm.system": "openai",
    "llm.model_name": "openai/gpt-4o-mini",
    "llm.invocation_parameters": '{"model": "openai/gpt-4o-mini"}',
    "output.mime_type": "application/json",
    "output.value": json.dumps(
        {
            "id": "gen-1-x",
            "model": "openai/gpt-4o-mini",
            "provider": "OpenAI",
            "choices": [{"finish_reason": "stop", "message": {"content": "y" * 400}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "cost": 0.0001},
        }
    ),
    "llm.token_count.prompt": 10,
    "llm.token_count.completion": 20,
    "llm.token_count.total": 30,
}


def rate_at(elapsed: float, rate: float, burst: tuple[float, float, float]) -> float:
    start, seconds, factor = burst
    return rate * factor if start <= elapsed < start + seconds else rate


@click.command()
@click.option("--rate", type=float, default=20.0, help="Units of work per second.")
@click.option("--seconds", type=float, default=10.0)
@click.option("--burst-at", type=float, default=0.0)
@click.option("--burst-seconds", type=float, default=0.0)
@click.option("--burst-factor", type=float, default=1.0)
@click.option("--calls", is_flag=True, help="Real chat calls to an in-process simulator.")
def main(
    rate: float,
    seconds: float,
    burst_at: float,
    burst_seconds: float,
    burst_factor: float,
    calls: bool,
) -> None:
    provider = setup_tracing(service_name="load-app")
    tracer = trace.get_tracer("tests.load_app")
    work = _call_work() if calls else None
    ids: list[str] = []
    errors = 0
    slowest = 0.0
    started = time.monotonic()
    next_at = started
    while (elapsed := time.monotonic() - started) < seconds:
        begun = time.perf_counter()
        try:
            if work is not None:
                work()
            else:
                with tracer.start_as_current_span("ChatCompletion", attributes=ATTRIBUTES) as span:
                    ids.append(format(span.get_span_context().span_id, "016x"))
        except Exception:  # the guarantee under test: the app never sees telemetry errors
            errors += 1
        slowest = max(slowest, time.perf_counter() - begun)
        next_at += 1.0 / rate_at(elapsed, rate, (burst_at, burst_seconds, burst_factor))
        time.sleep(max(0.0, next_at - time.monotonic()))
    provider.shutdown()
    report: dict[str, Any] = {"span_ids": ids, "errors": errors, "slowest_s": slowest}
    json.dump(report, sys.stdout)


def _call_work():
    from openrouter_openobserve.client import openrouter_client
    from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator

    client = openrouter_client(
        api_key="sk-or-load", base_url=OpenRouterSimulator().start().base_url
    )

    def call() -> None:
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "ping"}]
        )

    return call


if __name__ == "__main__":
    main()
