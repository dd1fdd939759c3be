"""The example app's own log lines and metrics, over OTLP/gRPC to the same collector as its
spans (OTEL_EXPORTER_OTLP_ENDPOINT), with the tracer provider's resource: what a service
sends besides its LLM spans. The collector applies its log policies and forwards both."""

from __future__ import annotations

import atexit
import logging
import threading

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Counter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

LOGGER_NAME = "app"
ANSWERS_METRIC = "app.answers"
# Exports give up after this, and exit waits at most this long for the last ones.
EXPORT_TIMEOUT_S = 3
SHUTDOWN_TIMEOUT_S = 5.0


def export_logs_and_metrics() -> tuple[logging.Logger, Counter]:
    """The app's logger and its answers counter, both exported; flushed at exit."""
    resource = getattr(trace.get_tracer_provider(), "resource", None) or Resource.create({})
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(timeout=EXPORT_TIMEOUT_S))
    )
    set_logger_provider(logger_provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(timeout=EXPORT_TIMEOUT_S))
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    atexit.register(_bounded_shutdown, logger_provider, meter_provider)

    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(logger_provider=logger_provider))
    counter = metrics.get_meter(LOGGER_NAME).create_counter(
        ANSWERS_METRIC, unit="{answer}", description="Answers the app printed, per model"
    )
    return logger, counter


def _bounded_shutdown(*providers: LoggerProvider | MeterProvider) -> None:
    """Shut down (which exports what is pending) without hanging on a collector that is gone."""

    def shutdown() -> None:
        for provider in providers:
            provider.shutdown()

    worker = threading.Thread(target=shutdown, daemon=True)
    worker.start()
    worker.join(SHUTDOWN_TIMEOUT_S)
