"""OpenObserve's OTLP metrics ingest (`POST /api/{org}/v1/metrics`): how points become rows.

As OpenObserve stores them: one stream per metric name (characters outside
[a-zA-Z0-9_:] become `_`, lowercased); a row per data point with the resource and point
attributes as columns (same key rule), `__name__`, `value`, `_timestamp` (µs),
`start_time`, `flag`; sums also `aggregation_temporality` and `is_monotonic`. A histogram
point becomes rows in the streams `<name>_count`, `<name>_sum`, `<name>_min`, `<name>_max`
and `<name>_bucket` (cumulative counts, one row per bound `le`, the last `inf`).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from openrouter_openobserve.testing.openobserve_emulator import (
    IngestError,
    flatten_key,
    normalise_stream_name,
    parse_otlp,
    plain_value,
)


def parse_metrics_request(body: bytes, content_type: str) -> ExportMetricsServiceRequest:
    return parse_otlp(body, content_type, ExportMetricsServiceRequest())


def _labels(attributes: Any) -> dict[str, Any]:
    return {flatten_key(kv.key): plain_value(kv.value) for kv in attributes}


def _point_base(base: dict[str, Any], point: Any) -> dict[str, Any]:
    return {
        **base,
        **_labels(point.attributes),
        "_timestamp": point.time_unix_nano // 1000,
        "start_time": str(point.start_time_unix_nano),
        "flag": "FLAG_NO_RECORDED_VALUE" if point.flags == 1 else "DO_NOT_USE",
    }


def _temporality(value: int) -> str:
    return AggregationTemporality.Name(value)


def _histogram_rows(name: str, row: dict[str, Any], point: Any) -> list[tuple[str, dict]]:
    rows = [
        (f"{name}_count", {**row, "__name__": f"{name}_count", "value": float(point.count)}),
        (f"{name}_sum", {**row, "__name__": f"{name}_sum", "value": point.sum}),
        (f"{name}_min", {**row, "__name__": f"{name}_min", "value": point.min}),
        (f"{name}_max", {**row, "__name__": f"{name}_max", "value": point.max}),
    ]
    cumulative = 0
    for index, count in enumerate(point.bucket_counts):
        cumulative += count
        bound = point.explicit_bounds[index] if index < len(point.explicit_bounds) else None
        le = "inf" if bound is None else repr(float(bound)).removesuffix(".0")
        bucket = {**row, "__name__": f"{name}_bucket", "le": le, "value": float(cumulative)}
        rows.append((f"{name}_bucket", bucket))
    return rows


def metric_rows(request: ExportMetricsServiceRequest) -> list[tuple[str, dict[str, Any]]]:
    """(stream, row) for every data point of `request`."""
    out: list[tuple[str, dict[str, Any]]] = []
    for resource_metrics in request.resource_metrics:
        resource = _labels(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = {
                "instrumentation_library_name": scope_metrics.scope.name,
                "instrumentation_library_version": scope_metrics.scope.version,
            }
            for metric in scope_metrics.metrics:
                name = normalise_stream_name(metric.name)
                base = {**resource, **scope, "__name__": name}
                out.extend(_metric_rows(name, base, metric))
    return out


def _metric_rows(name: str, base: dict[str, Any], metric: Any) -> list[tuple[str, dict]]:
    kind = metric.WhichOneof("data")
    rows: list[tuple[str, dict[str, Any]]] = []
    if kind in ("sum", "gauge"):
        data = getattr(metric, kind)
        extra = {}
        if kind == "sum":
            extra = {
                "aggregation_temporality": _temporality(data.aggregation_temporality),
                "is_monotonic": data.is_monotonic,
            }
        for point in data.data_points:
            value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
            rows.append((name, {**_point_base(base, point), **extra, "value": float(value)}))
    elif kind == "histogram":
        temporality = _temporality(metric.histogram.aggregation_temporality)
        for point in metric.histogram.data_points:
            row = {**_point_base(base, point), "aggregation_temporality": temporality}
            rows.extend(_histogram_rows(name, row, point))
    else:
        raise IngestError(400, f"emulator: {kind} metrics are not supported ({name})")
    return rows
