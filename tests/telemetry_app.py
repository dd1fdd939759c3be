"""An app set up like OpenTelemetry's zero-code defaults: traces, metrics and logs, each over
OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT, with the SDK's standard providers (what
`opentelemetry-instrument` builds from `OTEL_TRACES_EXPORTER=otlp`, `OTEL_METRICS_EXPORTER=otlp`,
`OTEL_LOGS_EXPORTER=otlp` and `OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true`), and
OpenTelemetry's GenAI instrumentation of the OpenAI client with content captured in events
(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=event_only).

    python -m tests.telemetry_app

It logs `LOG_LINE`, `KEY_LINE` (with the key in an attribute too) and `CARD_LINE` through
Python's logging, adds 3 to the counter `METRIC`, makes one chat call to the OpenRouter
simulator with `PROMPT`, shuts every provider down (which exports what is pending) and prints
JSON: what the simulator answered and every export error the SDK logged (there should be none).
"""

from __future__ import annotations

import json
import logging
import os

LOG_LINE = "order 1234 placed by the shop"
# A log line that quotes a credential, in its body and an attribute.
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
KEY_LINE = f"retrying with key {KEY}"
# A card number (it passes the Luhn check) in a log line: masked under `redacted` only.
CARD = "4111 1111 1111 1111"
CARD_LINE = f"charged card {CARD}"
METRIC = "shop.orders"
PROMPT = "PROMPT-SENTINEL-7d3a"
SERVICE = "telemetry-app"


class ExportErrors(logging.Handler):
    """The SDK's own complaints (an exporter that failed), kept to print."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("opentelemetry"):
            self.messages.append(record.getMessage())


def main() -> None:
    os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "event_only")
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    import openai
    from opentelemetry import metrics, trace
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from openrouter_openobserve.client import OFFLINE_API_KEY
    from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator

    errors = ExportErrors()
    logging.getLogger("opentelemetry").addHandler(errors)
    resource = Resource.create({"service.name": SERVICE})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())]
    )
    metrics.set_meter_provider(meter_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    OpenAIInstrumentor().instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )

    logging.getLogger("shop").warning(LOG_LINE)
    logging.getLogger("shop").error(KEY_LINE, extra={"shop.api_key": KEY})
    logging.getLogger("shop").warning(CARD_LINE)
    metrics.get_meter("shop").create_counter(METRIC).add(3, {"shop.region": "eu"})
    simulator = OpenRouterSimulator().start()
    try:
        client = openai.OpenAI(api_key=OFFLINE_API_KEY, base_url=simulator.base_url, max_retries=0)
        answer = client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
    finally:
        simulator.stop()
    # shutdown() exports what is pending (a flush first would send the counter twice).
    for provider in (tracer_provider, meter_provider, logger_provider):
        provider.shutdown()
    completion = answer.choices[0].message.content
    print(json.dumps({"completion": completion, "export_errors": errors.messages}))


if __name__ == "__main__":
    main()
