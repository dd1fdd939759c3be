"""OpenObserve's OTLP logs ingest (`POST /api/{org}/v1/logs`): how log records become rows.

From `handle_request` in src/service/logs/otlp.rs (v0.91.5): one row per record in the
stream the `stream-name` header names (`format_stream_name`; default `default`), holding
- the resource's attributes under their own keys, typed (`get_val_with_type_retained`);
- `instrumentation_library_name` and `_version` of its scope, when not empty;
- `_timestamp` in µs: `time_unix_nano`, else `observed_time_unix_nano`;
- `severity`: `severity_text`, else `severity_number`;
- `body` (`get_val`, src/service/ingestion/grpc.rs: scalars become strings, maps objects);
- `dropped_attributes_count`, then each attribute, typed, over any key of the same name;
- `trace_id` and `span_id` in hex, when valid;
then flattened (`flatten::flatten_with_level`: nested objects become `parent_child` columns,
keys through `format_key`). A record outside the ingest window is not stored; it counts as
failed in the stream's status (`stream_status.status.failed`), and the request still answers
200.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from openrouter_openobserve.testing.openobserve_emulator import (
    IngestWindow,
    flatten_record,
    otlp_value,
    parse_otlp,
    plain_value,
)


def parse_logs_request(body: bytes, content_type: str) -> ExportLogsServiceRequest:
    return parse_otlp(body, content_type, ExportLogsServiceRequest())


def typed_value(value: Any) -> Any:
    """`get_val_with_type_retained` (src/service/ingestion/grpc.rs): bytes become a list of
    numbers (serde's JSON of a Vec<u8>); the rest keeps its type."""
    if value.WhichOneof("value") == "bytes_value":
        return list(value.bytes_value)
    return plain_value(value)


def _hex(raw: bytes) -> str | None:
    return raw.hex() if raw and any(raw) else None


def _record_row(base: dict[str, Any], record: Any) -> dict[str, Any]:
    row = dict(base)
    row["_timestamp"] = (record.time_unix_nano or record.observed_time_unix_nano) // 1000
    row["severity"] = record.severity_text or record.severity_number
    row["body"] = otlp_value(record.body) if record.HasField("body") else None
    row["dropped_attributes_count"] = record.dropped_attributes_count
    for kv in record.attributes:
        row[kv.key] = typed_value(kv.value)
    if trace_id := _hex(record.trace_id):
        row["trace_id"] = trace_id
    if span_id := _hex(record.span_id):
        row["span_id"] = span_id
    return flatten_record(row)


def log_rows(request: ExportLogsServiceRequest, window: IngestWindow) -> tuple[list[dict], int]:
    """The rows OpenObserve stores for `request`, and how many records it discarded."""
    rows, failed = [], 0
    for resource_logs in request.resource_logs:
        resource = {kv.key: typed_value(kv.value) for kv in resource_logs.resource.attributes}
        for scope_logs in resource_logs.scope_logs:
            base = dict(resource)
            if scope_logs.scope.name:
                base["instrumentation_library_name"] = scope_logs.scope.name
            if scope_logs.scope.version:
                base["instrumentation_library_version"] = scope_logs.scope.version
            for record in scope_logs.log_records:
                if not window.admits(record.time_unix_nano or record.observed_time_unix_nano):
                    failed += 1
                    continue
                rows.append(_record_row(base, record))
    return rows, failed
