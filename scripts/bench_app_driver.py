"""One app process for `scripts.bench app`: N chat calls, timed, in one tracing setup.

    python -m scripts.bench_app_driver MODE --calls N --simulator URL [--endpoint URL]

MODE: `bare` (the openai client alone), `guide` (OpenObserve's guide: OpenInference plus
the SDK's OTLP/HTTP exporter straight to the backend, around the same client), `bundle` (the
README's setup: `setup_tracing` and `openrouter_client()`, OTLP/gRPC to the local
collector), `instrumentor` (OpenInference's instrumentor with the bundle's TraceConfig and an
SDK provider with no span processor: spans are built and recorded, never exported; the floor
of any setup that runs OpenInference). Every client makes one HTTP request per call (no retries), as
`openrouter_client()` does. Prints one JSON object: per-call wall microseconds and the process
CPU microseconds per call, export thread included.
"""

from __future__ import annotations

import json
import sys
import time

import click


def setup(mode: str, endpoint: str, auth: str, messages: int) -> object | None:
    if mode == "bare":
        return None
    if mode == "bundle":
        from openrouter_openobserve.tracing import setup_tracing

        return setup_tracing(service_name="bench", endpoint=endpoint)
    if mode == "instrumentor":
        from openinference.instrumentation.openai import OpenAIInstrumentor
        from opentelemetry.sdk.trace import TracerProvider

        from openrouter_openobserve.tracing import trace_config

        provider = TracerProvider()
        OpenAIInstrumentor().instrument(tracer_provider=provider, config=trace_config())
        return provider
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{endpoint}/v1/traces", headers={"Authorization": auth, "stream-name": "bench"}
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider


@click.command()
@click.argument("mode", type=click.Choice(["bare", "guide", "bundle", "instrumentor"]))
@click.option("--calls", default=300, show_default=True)
@click.option("--warmup", default=30, show_default=True)
@click.option("--messages", default=2, show_default=True, help="Messages per conversation.")
@click.option("--simulator", required=True, help="OpenRouter simulator base URL.")
@click.option("--endpoint", default="", help="Collector (bundle) or backend (guide) URL.")
@click.option("--auth", default="", help="guide: the backend's Authorization header.")
def main(
    mode: str, calls: int, warmup: int, messages: int, simulator: str, endpoint: str, auth: str
) -> None:
    provider = setup(mode, endpoint, auth, messages)
    if mode == "bundle":
        from openrouter_openobserve.client import openrouter_client

        client = openrouter_client(api_key="sk-or-bench", base_url=simulator)
    else:
        import openai

        client = openai.OpenAI(api_key="sk-or-bench", base_url=simulator, max_retries=0)
    conversation = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i} " + "x" * 80}
        for i in range(messages - 1)
    ] + [{"role": "user", "content": "the question"}]
    for _ in range(warmup):
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=conversation)
    if provider is not None:
        provider.force_flush()
    walls = []
    cpu_started = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        client.chat.completions.create(model="openai/gpt-4o-mini", messages=conversation)
        walls.append((time.perf_counter() - started) * 1e6)
    if provider is not None:
        provider.force_flush()  # the export work belongs to the calls measured
    cpu_us = (time.process_time() - cpu_started) * 1e6
    json.dump({"wall_us": walls, "cpu_us_per_call": cpu_us / calls}, sys.stdout)


if __name__ == "__main__":
    main()
