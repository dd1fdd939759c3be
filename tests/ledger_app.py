"""An app traced by OpenTelemetry's GenAI instrumentation with a plain OpenAI client (not
`openrouter_client()`): its calls carry OpenRouter's `gen-` id but no billed cost. Run as
`python -m tests.ledger_app N` with OPENROUTER_BASE_URL (the simulator) and
OTEL_EXPORTER_OTLP_ENDPOINT (a collector); it makes N calls, every other one a stream, and
prints their generation ids as JSON.
"""

from __future__ import annotations

import json
import os
import sys

import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

MODELS = ("openai/gpt-4o-mini", "anthropic/claude-3.5-haiku")


def main() -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "ledger-app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = openai.OpenAI(
        base_url=os.environ["OPENROUTER_BASE_URL"], api_key=os.environ["OPENROUTER_API_KEY"]
    )
    ids = []
    for n in range(int(sys.argv[1])):
        messages = [{"role": "user", "content": f"question {n}"}]
        model = MODELS[n % len(MODELS)]
        if n % 2:
            stream = client.chat.completions.create(
                model=model, messages=messages, stream=True, stream_options={"include_usage": True}
            )
            ids.append(next(iter(stream)).id)
            for _ in stream:
                pass
        else:
            ids.append(client.chat.completions.create(model=model, messages=messages).id)
    provider.shutdown()
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
