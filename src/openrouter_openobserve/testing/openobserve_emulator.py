"""An OpenObserve emulator, each behaviour derived from OpenObserve's source (the file and
function are named beside it).

It stores what real OpenObserve would store (one flattened row per span, per stream; one
row per metric data point, per metric stream: `openobserve_metrics.py`), answers the way
OpenObserve answers (401, 400, 413, 503, ...), runs search SQL on DataFusion as OpenObserve
does (`openobserve_search.py`), serves the dashboard, alert and destination APIs
`provision` uses (`openobserve_management.py`), and can be told to fail or to be slow for
a while. Tests and the no-Docker demo run it in-process (`OpenObserveEmulator().start()`);
the benchmarks run it as `python -m openrouter_openobserve.testing.openobserve_emulator`.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
import threading
import time
import urllib.parse
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_management import (
    DEFAULT_FOLDER,
    ApiError,
    BodyRejected,
    Management,
    StreamNotFound,
)

INGEST_PATH = re.compile(r"^/api/(?P<org>[^/]+)/(?:v1/)?traces$")
METRICS_INGEST_PATH = re.compile(r"^/api/(?P<org>[^/]+)/v1/metrics$")
LOGS_INGEST_PATH = re.compile(r"^/api/(?P<org>[^/]+)/v1/logs$")
SEARCH_PATH = re.compile(r"^/api/(?P<org>[^/]+)/_search$")
DASHBOARDS_PATH = re.compile(r"^/api/(?P<org>[^/]+)/dashboards(?:/(?P<id>[^/]+))?$")
ALERTS_PATH = re.compile(r"^/api/v2/(?P<org>[^/]+)/alerts(?:/(?P<id>[^/]+))?$")
SCHEMA_PATH = re.compile(r"^/api/(?P<org>[^/]+)/streams/(?P<stream>[^/]+)/schema$")
DESTINATIONS_PATH = re.compile(r"^/api/(?P<org>[^/]+)/alerts/destinations$")
MAX_COLUMNS_PER_REQUEST = 1000
DEFAULT_SEARCH_SIZE = 1000
DEFAULT_PASSCODE = "Qx7RzP4mTn2Kd9Lw"
STATUS_NAMES = {0: "UNSET", 1: "OK", 2: "ERROR"}
RESERVED_COLUMNS = frozenset(
    {
        "trace_id",
        "span_id",
        "span_kind",
        "span_status",
        "operation_name",
        "start_time",
        "end_time",
        "duration",
        "_timestamp",
        "service_name",
        "reference_parent_span_id",
        "reference_parent_trace_id",
        "reference_ref_type",
        "events",
        "links",
        "status_code",
        "status_message",
        "flags",
    }
)


class IngestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- OpenObserve's span rows --------------------------------------------------------
# src/core/src/traces/mod.rs `handle_otlp_request` builds one `Span` per OTLP span, runs the
# GenAI processor on LLM spans (`openobserve_genai.py`), and `finalize_and_buffer_trace_span`
# flattens it (src/config/src/utils/flatten.rs `flatten`) into one row.


def normalise_stream_name(name: str | None) -> str:
    """`format_stream_name` (src/config/src/utils/schema.rs, both releases): each run of
    characters outside [a-zA-Z0-9_:] becomes one '_' (RE_CORRECT_STREAM_NAME), then
    lowercase (ZO_FORMAT_STREAM_NAME_TO_LOWERCASE, on by default); default 'default'."""
    if not name:
        return "default"
    return re.sub(r"[^a-zA-Z0-9_:]+", "_", name).lower()


def flatten_key(key: str) -> str:
    """flatten.rs `format_key`: lowercase; every character outside [a-z0-9_] becomes '_'."""
    return re.sub(r"[^a-z0-9_]", "_", key.lower())


def rust_float(value: float) -> str:
    """f64's `to_string` in Rust: shortest round-trip digits, never an exponent, no `.0`."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "inf", "-inf": "-inf"}[repr(value)]
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def otlp_value(value: AnyValue) -> Any:
    """src/core/src/ingestion/grpc.rs `get_val`: scalars become strings (bools lowercase,
    doubles as Rust prints them), arrays lists, maps dicts, bytes UTF-8 text."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [otlp_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: otlp_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.decode("utf-8", errors="replace")
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return rust_float(value.double_value)
    if kind is None:
        return None
    return str(getattr(value, kind))


def plain_value(value: AnyValue) -> Any:
    """The JSON-able Python value of an OTLP AnyValue, typed (metric point attributes)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [plain_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: plain_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind is None:
        return None
    return getattr(value, kind)


def flatten_record(record: dict[str, Any]) -> dict[str, Any]:
    """flatten.rs `flatten`: nested objects become `parent_child` columns, arrays compact JSON
    strings, nulls and empty objects or arrays are dropped; keys go through `format_key`."""
    flat: dict[str, Any] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for child, child_value in value.items():
                walk(child_value, f"{key}_{flatten_key(child)}" if key else flatten_key(child))
        elif isinstance(value, list):
            if value:
                flat[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif value is not None:
            flat[key] = value

    walk(record, "")
    return flat


def _reserved(key: str) -> bool:
    return flatten_key(key) in RESERVED_COLUMNS


def _resource_map(resource: Any) -> tuple[str | None, dict[str, Any]]:
    """The resource's service.name, and its other attributes as `service_<key>`
    (`resource_attribute_key`: `service_attr_<key>` where that would be a reserved column)."""
    service_name, columns = None, {}
    for kv in resource:
        if kv.key == "service.name":
            service_name = otlp_value(kv.value)
            continue
        key = f"service_{kv.key}"
        columns[f"service_attr_{kv.key}" if _reserved(key) else key] = otlp_value(kv.value)
    return service_name, columns


def _span_attributes(
    attrs: Any, resource_columns: dict[str, Any], collisions: list[tuple[str, str]] | None
) -> dict[str, Any]:
    """`span_attribute_key`: `attr_<key>` where a key would land on a reserved column or a
    resource column. Keys that flatten alike are reported (OpenObserve keeps one silently)."""
    taken = {flatten_key(key) for key in resource_columns}
    attributes: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for kv in attrs:
        column = flatten_key(kv.key)
        key = f"attr_{kv.key}" if column in RESERVED_COLUMNS or column in taken else kv.key
        if column in sources and collisions is not None:
            collisions.append((sources[column], kv.key))
        sources[column] = kv.key
        attributes[key] = otlp_value(kv.value)
    return attributes


@dataclass
class IngestWindow:
    """ZO_INGEST_ALLOWED_UPTO (hours in the past, default 5) and ZO_INGEST_ALLOWED_IN_FUTURE
    (default 24): spans outside it are skipped and counted as rejected in a 200 answer's
    partial success (`handle_otlp_request`)."""

    past_hours: float = 5
    future_hours: float = 24

    def admits(self, start_time_unix_nano: int) -> bool:
        now_us = time.time() * 1e6
        timestamp_us = start_time_unix_nano // 1000
        return (
            now_us - self.past_hours * 3600e6 <= timestamp_us <= now_us + self.future_hours * 3600e6
        )


def span_rows(
    request: ExportTraceServiceRequest,
    collisions: list[tuple[str, str]] | None = None,
    release: genai.Release = genai.LATEST,
    window: IngestWindow | None = None,
    stream: str = "default",
) -> tuple[list[dict[str, Any]], int]:
    """One OpenObserve row per span admitted by `window`, and the number rejected."""
    rows, rejected = [], 0
    for resource_spans in request.resource_spans:
        service_name, resource_columns = _resource_map(resource_spans.resource.attributes)
        resource = {kv.key: otlp_value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if window is not None and not window.admits(span.start_time_unix_nano):
                    rejected += 1
                    continue
                attributes = _span_attributes(span.attributes, resource_columns, collisions)
                # The status goes in as attributes too, the code as a number.
                attributes["status_code"] = span.status.code
                attributes["status_message"] = span.status.message
                if genai.is_llm_span(attributes, release):
                    genai.process_span(attributes, release, resource, scope_spans.scope.name)
                row = flatten_record(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "flags": 1,
                        "span_status": STATUS_NAMES.get(span.status.code, "UNSET"),
                        "span_kind": str(span.kind),
                        "operation_name": span.name,
                        "start_time": span.start_time_unix_nano,
                        "end_time": span.end_time_unix_nano,
                        "duration": (span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
                        **_reference(span),
                        "service_name": service_name or stream,
                        **attributes,
                        **resource_columns,
                        "events": json.dumps(
                            [_event(e) for e in span.events], separators=(",", ":")
                        ),
                        "links": "[]",
                        "_timestamp": span.start_time_unix_nano // 1000,
                    }
                )
                genai.typed_columns(row, release)
                if release.ingest_ts:
                    row["_o2_ingest_ts"] = int(time.time() * 1e6)
                rows.append(row)
    return rows, rejected


def _reference(span: Any) -> dict[str, str]:
    if len(span.parent_span_id) != 8:
        return {}
    return {
        "reference_parent_trace_id": span.trace_id.hex(),
        "reference_parent_span_id": span.parent_span_id.hex(),
        "reference_ref_type": "ChildOf",
    }


def span_ids(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Minimal rows for load tests: ids and timestamps only."""
    return [
        {
            "trace_id": span.trace_id.hex(),
            "span_id": span.span_id.hex(),
            "_timestamp": span.start_time_unix_nano // 1000,
        }
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def _event(event: Any) -> dict[str, Any]:
    attrs = {kv.key: otlp_value(kv.value) for kv in event.attributes}
    return {"name": event.name, "_timestamp": event.time_unix_nano, **attrs}


# --- decoding ---------------------------------------------------------------------


# The HTTP router decompresses request bodies with tower_http's RequestDecompressionLayer,
# built with its gzip, deflate (zlib) and br features only (src/handler/http/router/mod.rs,
# Cargo.toml `tower-http`): any other Content-Encoding, zstd included, is 415 Unsupported
# Media Type with an empty body and the accepted encodings in Accept-Encoding
# (tower-http src/decompression/request/service.rs `RequestDecompression::call`). Brotli is
# accepted by OpenObserve but not emulated: nothing here sends it.
ACCEPTED_ENCODINGS = "gzip,deflate,br"


def decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return body
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError) as error:
        raise IngestError(400, f"cannot decompress {encoding} body: {error}") from None
    raise IngestError(415, "")


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON parser wants base64."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                out[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def parse_otlp(
    body: bytes, content_type: str, message: Any, prepare_json: Any = lambda document: document
) -> Any:
    """`body` decoded into the OTLP `message` (protobuf or JSON, as OpenObserve accepts)."""
    media_type = content_type.split(";")[0].strip().lower()
    try:
        if media_type == "application/x-protobuf":
            message.ParseFromString(body)
        elif media_type == "application/json":
            document = prepare_json(json.loads(body))
            json_format.ParseDict(document, message, ignore_unknown_fields=True)
        else:
            raise IngestError(400, f"unsupported Content-Type: {content_type or '(none)'}")
    except (DecodeError, ValueError, json_format.ParseError) as error:
        raise IngestError(400, f"invalid OTLP {media_type} body: {error}") from None
    return message


def parse_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    return parse_otlp(body, content_type, ExportTraceServiceRequest(), _hex_ids_to_base64)


def encode_response(
    content_type: str, rejected: int = 0, signal: str = "traces"
) -> tuple[int, bytes, str]:
    """The OTLP answer's status and body, with a partial success when spans
    (`format_response` in src/core/src/traces/mod.rs, v0.91.5 src/service/traces/mod.rs:
    OTLP/JSON answers it 206 Partial Content, protobuf 200) or log records (logs/otlp.rs
    `handle_request`) were rejected."""
    response: Any
    status = 200
    if signal == "logs":
        response = ExportLogsServiceResponse()
        if rejected:
            response.partial_success.rejected_log_records = rejected
    else:
        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = (
                "Some spans were rejected due to exceeding the allowed retention period"
            )
            status = 206
    if content_type.startswith("application/json"):
        return status, json_format.MessageToJson(response).encode(), "application/json"
    return 200, response.SerializeToString(), "application/x-protobuf"


# --- the server -------------------------------------------------------------------


@dataclass
class Fault:
    """An injected answer: `status` (or a delay) until `until` or for `remaining` requests."""

    status: int | None = None
    delay_s: float = 0.0
    until: float | None = None
    remaining: int | None = None
    signal: str | None = None  # traces, metrics or logs; None: every ingest request

    def active(self, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return self.remaining is None or self.remaining > 0

    def applies_to(self, signal: str) -> bool:
        return self.signal is None or self.signal == signal


@dataclass
class RequestLog:
    path: str
    status: int
    stream: str | None
    spans: int
    at: float = field(default_factory=time.time)
    method: str = "POST"
    rejected: int = 0


class OpenObserveEmulator:
    """In-process OpenObserve: `start()`, point a collector at `url`, read `rows()`."""

    def __init__(
        self,
        email: str = "root@example.com",
        password: str = "Complexpass#123",
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = 64 * 1024 * 1024,
        ids_only: bool = False,
        passcode: str = DEFAULT_PASSCODE,
        release: str = genai.LATEST.name,
        ingest_window: IngestWindow | None = None,
    ) -> None:
        self.email = email
        # Load tests: keep only span and trace ids (loss and duplicates), skip flattening.
        self.ids_only = ids_only
        self.password = password
        # The root user's ingestion passcode (Ingestion > Traces shows Basic email:passcode):
        # accepted on ingestion routes only (validator.rs `validate_credentials`).
        self.passcode = passcode
        # Org ingestion tokens (`o2oi_...`) by org: ingestion routes only, like the passcode.
        self.org_tokens: dict[str, str] = {}
        # The OpenObserve release whose ingest this reproduces (openobserve_genai.RELEASES).
        self.release = genai.RELEASES[release]
        self.ingest_window = ingest_window or IngestWindow()
        self.max_body_bytes = max_body_bytes
        # Orgs that exist: `default` from the start, others once the root user ingests into
        # them (validator.rs `check_and_create_org`); API calls elsewhere answer 404.
        self.orgs = {"default"}
        self._lock = threading.Lock()
        self._streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._metric_streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._log_streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.management = Management(has_data=self.stream_exists)
        self._faults: list[Fault] = []
        self.requests: list[RequestLog] = []
        # Pairs of attribute keys of one span that flattened to the same column.
        self.collisions: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def auth_token(self) -> str:
        """The root user's e-mail and password: valid on every route."""
        return self.basic_token(self.email, self.password)

    @property
    def ingest_token(self) -> str:
        """The root user's e-mail and ingestion passcode: valid on ingestion routes only."""
        return self.basic_token(self.email, self.passcode)

    def add_org_token(self, org: str, token: str) -> str:
        """An org ingestion token; returns the Basic header that carries it."""
        assert token.startswith("o2oi_")
        self.org_tokens[token] = org
        return self.basic_token(self.email, token)

    @staticmethod
    def basic_token(email: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()

    def start(self) -> OpenObserveEmulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenObserveEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # fault injection
    def fail(
        self,
        status: int,
        seconds: float | None = None,
        count: int | None = None,
        signal: str | None = None,
    ) -> None:
        """Answer `status` to ingest requests (of `signal` only, if given) for `seconds`, or
        `count` times, or until cleared. A test device, not OpenObserve's."""
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._faults.append(Fault(status=status, until=until, remaining=count, signal=signal))

    def slow(self, delay_s: float, seconds: float | None = None) -> None:
        """Delay every ingest request by `delay_s` (for `seconds`, or until cleared)."""
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._faults.append(Fault(delay_s=delay_s, until=until))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, signal: str) -> tuple[int | None, float]:
        now = time.monotonic()
        status, delay = None, 0.0
        with self._lock:
            self._faults = [f for f in self._faults if f.active(now)]
            for fault in self._faults:
                if not fault.applies_to(signal):
                    continue
                delay = max(delay, fault.delay_s)
                if fault.status is not None and status is None:
                    status = fault.status
                    if fault.remaining is not None:
                        fault.remaining -= 1
        return status, delay

    # stored data
    def rows(self, stream: str = "default", org: str | None = None) -> list[dict[str, Any]]:
        return self._rows_of(self._streams, stream, org)

    def metric_rows(self, stream: str, org: str | None = None) -> list[dict[str, Any]]:
        """The rows of metric stream `stream` (e.g. `gen_ai_client_operation_duration_sum`)."""
        return self._rows_of(self._metric_streams, stream, org)

    def log_rows(self, stream: str = "default", org: str | None = None) -> list[dict[str, Any]]:
        """The rows of log stream `stream`."""
        return self._rows_of(self._log_streams, stream, org)

    def _of_type(self, stream_type: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        return {"metrics": self._metric_streams, "logs": self._log_streams}.get(
            stream_type, self._streams
        )

    def _rows_of(
        self, streams: dict[tuple[str, str], list[dict[str, Any]]], stream: str, org: str | None
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(row)
                for (row_org, row_stream), rows in streams.items()
                if row_stream == stream and (org is None or row_org == org)
                for row in rows
            ]

    def streams(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._streams)

    def clear(self) -> None:
        with self._lock:
            self._streams.clear()
            self._metric_streams.clear()
            self._log_streams.clear()
            self.requests.clear()

    # request handling (called from handler threads)
    def authorize(self, header: str | None, org: str, ingestion: bool) -> None:
        """validator.rs `validate_credentials`, then `check_and_create_org`: raises ApiError
        with OpenObserve's plain-text answer (401 "Unauthorized Access", 404 "Organization not
        found"); an ingestion write by the root user creates a missing org."""
        user, _, secret = _basic_credentials(header)
        valid = user == self.email and (
            secret == self.password
            or (ingestion and secret == self.passcode)
            or (ingestion and self.org_tokens.get(secret) == org)
        )
        if not valid:
            raise ApiError(401, "Unauthorized Access")
        with self._lock:
            if org not in self.orgs:
                if not ingestion:
                    raise ApiError(404, "Organization not found")
                self.orgs.add(org)

    def stream_exists(self, org: str, stream: str, stream_type: str = "traces") -> bool:
        streams = self._of_type(stream_type)
        with self._lock:
            return bool(streams.get((org, stream)))

    def ingest(self, org: str, stream_header: str | None, rows: list[dict[str, Any]]) -> str:
        stream = normalise_stream_name(stream_header)
        columns = {column for row in rows for column in row}
        if len(columns) > MAX_COLUMNS_PER_REQUEST:
            raise IngestError(
                400,
                f"too many columns: {len(columns)} distinct fields in one request for stream "
                f"'{stream}', the limit is {MAX_COLUMNS_PER_REQUEST}",
            )
        with self._lock:
            self._streams[(org, stream)].extend(rows)
        return stream

    def ingest_logs(self, org: str, stream_header: str | None, rows: list[dict[str, Any]]) -> str:
        stream = normalise_stream_name(stream_header)
        with self._lock:
            self._log_streams[(org, stream)].extend(rows)
        return stream

    def ingest_metrics(self, org: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            for stream, row in rows:
                self._metric_streams[(org, stream)].append(row)

    def stream_schema(self, org: str, stream: str, stream_type: str) -> dict[str, Any]:
        """`GET /api/{org}/streams/{stream}/schema`: every column the stream's rows have."""
        from openrouter_openobserve.testing.openobserve_search import arrow_type_name, stream_table

        streams = self._of_type(stream_type)
        with self._lock:
            rows = list(streams.get((org, stream), []))
        if not rows:
            raise ApiError(404, "stream not found")
        table = stream_table(rows)
        fields = [{"name": f.name, "type": arrow_type_name(f.type)} for f in table.schema]
        return {"name": stream, "stream_type": stream_type, "schema": fields}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            rows = [row for rows in self._streams.values() for row in rows]
            statuses = Counter(str(entry.status) for entry in self.requests)
        return {
            "rows": len(rows),
            "distinct_span_ids": len({row["span_id"] for row in rows}),
            "statuses": dict(statuses),
        }

    def log(self, entry: RequestLog) -> None:
        with self._lock:
            self.requests.append(entry)

    def sessions(self, org: str, stream: str) -> dict[str, list[str]]:
        """The Sessions view's list: the trace ids of each session, grouped by the column
        OpenObserve's session handler reads (v0.91.5 src/handler/http/request/traces/
        session.rs, phase 1 of the list; `LlmColumns::current` in schema_compat.rs)."""
        sql = (
            "SELECT gen_ai_conversation_id, array_agg(DISTINCT trace_id) AS trace_ids "
            f'FROM "{stream}" WHERE gen_ai_conversation_id IS NOT NULL AND '
            "gen_ai_conversation_id != '' GROUP BY gen_ai_conversation_id"
        )
        hits = self.search(org, {"sql": sql, "start_time": 0, "end_time": 2**62})["hits"]
        return {hit["gen_ai_conversation_id"]: sorted(hit["trace_ids"]) for hit in hits}

    def search(
        self, org: str, query: dict[str, Any], stream_type: str = "traces"
    ) -> dict[str, Any]:
        from openrouter_openobserve.testing.openobserve_search import run_sql

        streams = self._of_type(stream_type)
        with self._lock:
            tables = {
                stream: list(rows) for (row_org, stream), rows in streams.items() if row_org == org
            }
        hits = run_sql(query, tables)
        # SearchQuery `size` defaults to ZO_QUERY_DEFAULT_LIMIT, 1000 hits (meta/search.rs).
        size = int(query.get("size") or DEFAULT_SEARCH_SIZE)
        start_at = int(query.get("from") or 0)
        hits = hits[start_at : start_at + size] if size > 0 else hits[start_at:]
        return {
            "took": 1,
            "hits": hits,
            "total": len(hits),
            "from": query.get("from", 0),
            "size": len(hits),
            "scan_size": 0,
        }


def _handler_for(emulator: OpenObserveEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls
        server_version = "openobserve-emulator"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read emulator.requests instead of stderr noise

        def do_GET(self) -> None:
            # Not OpenObserve's: counters for benchmarks that run the emulator as a process.
            if self.path == "/_emulator/stats":
                self._answer(200, emulator.stats())
            else:
                self._manage("GET", b"")

        def do_PUT(self) -> None:
            self._manage("PUT", self._body())

        def do_DELETE(self) -> None:
            self._manage("DELETE", self._body())

        def do_POST(self) -> None:
            body = self._body()
            path = self.path.split("?")[0]
            if match := INGEST_PATH.match(path):
                self._ingest(match["org"], body, "traces")
            elif match := METRICS_INGEST_PATH.match(path):
                self._ingest(match["org"], body, "metrics")
            elif match := LOGS_INGEST_PATH.match(path):
                self._ingest(match["org"], body, "logs")
            elif path == "/_emulator/fail":  # benchmarks: inject a fault from outside
                fault = json.loads(body)
                emulator.fail(int(fault["status"]), seconds=fault.get("seconds"))
                self._answer(200, {})
            elif (match := SEARCH_PATH.match(path)) is not None:
                self._search(match["org"], body)
            else:
                self._manage("POST", body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _ingest(self, org: str, body: bytes, signal: str) -> None:
            status, delay = emulator._take_fault(signal)
            if delay:
                time.sleep(delay)
            stream = self.headers.get("stream-name")
            try:
                if status is not None:
                    raise IngestError(status, HTTPStatus(status).phrase)
                try:
                    emulator.authorize(self.headers.get("Authorization"), org, ingestion=True)
                except ApiError as error:
                    emulator.log(RequestLog(self.path, error.status, stream, 0))
                    self._text(error.status, str(error))
                    return
                if len(body) > emulator.max_body_bytes:
                    raise IngestError(413, "Payload Too Large")
                raw = decompress(body, self.headers.get("Content-Encoding", ""))
                if len(raw) > emulator.max_body_bytes:
                    raise IngestError(413, "Payload Too Large")
                content_type = self.headers.get("Content-Type", "")
                rejected = 0
                if signal == "metrics":
                    stored_in, count = self._ingest_metrics(org, raw, content_type)
                elif signal == "logs":
                    stored_in, count, rejected = self._ingest_logs(org, stream, raw, content_type)
                else:
                    stored_in, count, rejected = self._ingest_spans(org, stream, raw, content_type)
            except IngestError as error:
                emulator.log(RequestLog(self.path, error.status, stream, 0))
                if error.status == 415:  # the decompression layer's answer, before any handler
                    self._send(415, b"", "text/plain")
                else:
                    self._answer(error.status, {"code": error.status, "message": str(error)})
                return
            emulator.log(RequestLog(self.path, 200, stored_in, count, rejected=rejected))
            answer, payload, media_type = encode_response(content_type, rejected, signal)
            self._send(answer, payload, media_type)

        def _ingest_spans(
            self, org: str, stream: str | None, raw: bytes, content_type: str
        ) -> tuple[str, int, int]:
            request = parse_request(raw, content_type)
            rejected = 0
            if emulator.ids_only:
                rows = span_ids(request)
            else:
                rows, rejected = span_rows(
                    request,
                    emulator.collisions,
                    emulator.release,
                    emulator.ingest_window,
                    normalise_stream_name(stream),
                )
            return emulator.ingest(org, stream, rows), len(rows), rejected

        def _ingest_logs(
            self, org: str, stream: str | None, raw: bytes, content_type: str
        ) -> tuple[str, int, int]:
            from openrouter_openobserve.testing.openobserve_logs import (
                log_rows,
                parse_logs_request,
            )

            rows, failed = log_rows(parse_logs_request(raw, content_type), emulator.ingest_window)
            return emulator.ingest_logs(org, stream, rows), len(rows), failed

        def _ingest_metrics(self, org: str, raw: bytes, content_type: str) -> tuple[str, int]:
            from openrouter_openobserve.testing.openobserve_metrics import (
                metric_rows,
                parse_metrics_request,
            )

            rows = metric_rows(parse_metrics_request(raw, content_type), emulator.release)
            emulator.ingest_metrics(org, rows)
            return "metrics", len(rows)

        def _search(self, org: str, body: bytes) -> None:
            """Every search is logged with its status."""
            path = self.path.split("?")[0]
            try:
                emulator.authorize(self.headers.get("Authorization"), org, ingestion=False)
            except ApiError as error:
                emulator.log(RequestLog(path, error.status, None, 0))
                self._text(error.status, str(error))
                return
            from openrouter_openobserve.testing.openobserve_search import SearchError

            stream_type = self._query().get("type", "logs")
            try:
                query = json.loads(body)["query"]
                status, answer = 200, emulator.search(org, query, stream_type)
            except StreamNotFound as error:
                # HttpResponse::error_code: the HTTP status is 400, `code` the error code.
                message = f"Search stream not found: {error}"
                status, answer = 400, {"code": 20002, "message": message, "error_detail": ""}
            except SearchError as error:
                status, answer = (
                    400,
                    {"code": error.code, "message": str(error), "error_detail": ""},
                )
            except (ValueError, KeyError, TypeError) as error:
                status, answer = 400, {"code": 400, "message": f"Search SQL error: {error}"}
            emulator.log(RequestLog(path, status, None, 0))
            self._answer(status, answer)

        def _query(self) -> dict[str, str]:
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))

        def _manage(self, method: str, body: bytes) -> None:
            """Dashboards, alerts and destinations; every call is logged with its method."""
            path = self.path.split("?")[0]
            try:
                emulator.authorize(self.headers.get("Authorization"), _org_of(path), False)
            except ApiError as error:
                emulator.log(RequestLog(path, error.status, None, 0, method=method))
                self._text(error.status, str(error))
                return
            try:
                try:
                    document = json.loads(body) if body else None
                except json.JSONDecodeError as error:
                    raise BodyRejected(str(error), syntax=True) from None
                status, answer = 200, self._route(method, path, document)
            except BodyRejected as error:
                emulator.log(RequestLog(path, error.status, None, 0, method=method))
                self._text(error.status, str(error))
                return
            except ApiError as error:
                status, answer = error.status, {"code": error.status, "message": str(error)}
            emulator.log(RequestLog(path, status, None, 0, method=method))
            self._answer(status, answer)

        def _route(self, method: str, path: str, document: Any) -> Any:
            management, query = emulator.management, self._query()
            folder = query.get("folder", DEFAULT_FOLDER)
            if match := DASHBOARDS_PATH.match(path):
                org, item = match["org"], match["id"]
                if method == "GET" and item is None:
                    listed_folder = None if "title" in query and "folder" not in query else folder
                    return management.list_dashboards(org, listed_folder, query.get("title"))
                if method == "GET":
                    return management.get_dashboard(org, item)
                if method == "POST" and item is None:
                    return management.create_dashboard(org, folder, document, emulator.email)
                if method == "PUT" and item is not None:
                    return management.update_dashboard(org, item, document, query.get("hash"))
                if method == "DELETE" and item is not None:
                    return management.delete_dashboard(org, item)
            elif (match := SCHEMA_PATH.match(path)) and method == "GET":
                stream_type = query.get("type", "logs")
                return emulator.stream_schema(match["org"], match["stream"], stream_type)
            elif match := DESTINATIONS_PATH.match(path):
                if method == "GET":
                    return management.list_destinations(match["org"])
                if method == "POST":
                    return management.create_destination(match["org"], document)
            elif match := ALERTS_PATH.match(path):
                org, item = match["org"], match["id"]
                if method == "GET" and item is None:
                    return management.list_alerts(org)
                if method == "GET":
                    return management.get_alert(org, item)
                if method == "POST" and item is None:
                    return management.create_alert(org, folder, document)
                if method == "PUT" and item is not None:
                    return management.update_alert(org, item, document)
                if method == "DELETE" and item is not None:
                    return management.delete_alert(org, item)
            raise ApiError(404, "not found")

        def _answer(self, status: int, document: Any) -> None:
            self._send(status, json.dumps(document).encode(), "application/json")

        def _text(self, status: int, message: str) -> None:
            """Errors of the auth layer are plain text (validator.rs `AuthError::into_response`)."""
            self._send(status, message.encode(), "text/plain; charset=utf-8")

        def _send(self, status: int, payload: bytes, media_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(payload)))
            if status in (429, 503):
                self.send_header("Retry-After", "1")
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="openobserve"')
            if status == 415:
                self.send_header("Accept-Encoding", ACCEPTED_ENCODINGS)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _basic_credentials(header: str | None) -> tuple[str, str, str]:
    """(user, ':', secret) of a Basic Authorization header; empty strings when it is not one."""
    if not header or not header.startswith("Basic "):
        return "", "", ""
    try:
        return base64.b64decode(header[len("Basic ") :], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", "", ""


def _org_of(path: str) -> str:
    """The org of an API path: /api/{org}/... or /api/v2/{org}/..."""
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "v2" else parts[1] if len(parts) > 1 else ""


def kv(key: str, value: Any) -> KeyValue:
    """Build an OTLP KeyValue (used by tests that craft requests by hand)."""
    any_value = AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, (list, tuple)):
        any_value.array_value.values.extend(kv("_", v).value for v in value)
    else:
        any_value.string_value = str(value)
    return KeyValue(key=key, value=any_value)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="OpenObserve trace-ingest emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5080)
    parser.add_argument("--email", default="root@example.com")
    parser.add_argument("--password", default="Complexpass#123")
    parser.add_argument("--ids-only", action="store_true", help="keep span ids only (load tests)")
    parser.add_argument("--release", choices=list(genai.RELEASES), default=genai.LATEST.name)
    args = parser.parse_args()
    emulator = OpenObserveEmulator(
        args.email,
        args.password,
        args.host,
        args.port,
        ids_only=args.ids_only,
        release=args.release,
    )
    print(f"OpenObserve emulator listening on {emulator.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator._server.serve_forever()


if __name__ == "__main__":
    main()
