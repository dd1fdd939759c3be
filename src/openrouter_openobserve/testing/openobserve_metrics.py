"""OpenObserve's OTLP metrics ingest (`POST /api/{org}/v1/metrics`): how points become rows.

As OpenObserve stores them (`handle_otlp_request`, `process_data_point` and
`process_hist_data_point` in v0.92.2 src/core/src/metrics/otlp.rs, v0.91.5
src/service/metrics/otlp.rs): one stream per metric name (`format_stream_name`); a row per
data point with the resource and point attributes as columns (same key rule; values as
`get_val` makes them, scalars as text), `__name__`, `value`, `_timestamp` (µs),
`start_time`, `flag` (the `DataPointFlags` name); sums also `aggregation_temporality` and
`is_monotonic` (text). A histogram point becomes rows in the streams `<name>_count`,
`<name>_sum`, `<name>_min`, `<name>_max` and `<name>_bucket` (cumulative counts, one row per
bound `le`, as Rust prints it, the last `inf`). An unset sum, min or max: v0.91.5 writes
the row without a value, v0.92 writes no row.
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
    otlp_value,
    parse_otlp,
    rust_float,
)
from openrouter_openobserve.testing.openobserve_genai import LATEST, Release


def parse_metrics_request(body: bytes, content_type: str) -> ExportMetricsServiceRequest:
    return parse_otlp(body, content_type, ExportMetricsServiceRequest())


def _labels(attributes: Any) -> dict[str, Any]:
    return {flatten_key(kv.key): otlp_value(kv.value) for kv in attributes}


def _point_base(base: dict[str, Any], point: Any) -> dict[str, Any]:
    return {
        **base,
        **_labels(point.attributes),
        "_timestamp": point.time_unix_nano // 1000,
        "start_time": str(point.start_time_unix_nano),
        "flag": (
            "DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK"
            if point.flags == 1
            else "DATA_POINT_FLAGS_DO_NOT_USE"
        ),
    }


def _temporality(value: int) -> str:
    return AggregationTemporality.Name(value)


def _histogram_rows(
    name: str, row: dict[str, Any], point: Any, release: Release
) -> list[tuple[str, dict]]:
    rows = [(f"{name}_count", {**row, "__name__": f"{name}_count", "value": float(point.count)})]
    for part in ("sum", "min", "max"):
        stream = f"{name}_{part}"
        if point.HasField(part):
            rows.append((stream, {**row, "__name__": stream, "value": getattr(point, part)}))
        elif release.null_histogram_parts:
            rows.append((stream, {**row, "__name__": stream, "value": None}))
    cumulative = 0
    for index, count in enumerate(point.bucket_counts):
        cumulative += count
        bound = point.explicit_bounds[index] if index < len(point.explicit_bounds) else None
        le = "inf" if bound is None else rust_float(float(bound))
        bucket = {**row, "__name__": f"{name}_bucket", "le": le, "value": float(cumulative)}
        rows.append((f"{name}_bucket", bucket))
    return rows


def metric_rows(
    request: ExportMetricsServiceRequest, release: Release = LATEST
) -> list[tuple[str, dict[str, Any]]]:
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
                out.extend(_metric_rows(name, base, metric, release))
    return out


def _metric_rows(
    name: str, base: dict[str, Any], metric: Any, release: Release
) -> list[tuple[str, dict]]:
    kind = metric.WhichOneof("data")
    rows: list[tuple[str, dict[str, Any]]] = []
    if kind in ("sum", "gauge"):
        data = getattr(metric, kind)
        extra = {}
        if kind == "sum":
            extra = {
                "aggregation_temporality": _temporality(data.aggregation_temporality),
                "is_monotonic": "true" if data.is_monotonic else "false",
            }
        for point in data.data_points:
            value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
            rows.append((name, {**_point_base(base, point), **extra, "value": float(value)}))
    elif kind == "histogram":
        temporality = _temporality(metric.histogram.aggregation_temporality)
        for point in metric.histogram.data_points:
            row = {**_point_base(base, point), "aggregation_temporality": temporality}
            rows.extend(_histogram_rows(name, row, point, release))
    else:
        raise IngestError(400, f"emulator: {kind} metrics are not supported ({name})")
    return rows
