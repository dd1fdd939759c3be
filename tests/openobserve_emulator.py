"""An OpenObserve emulator, faithful to the contract in DESIGN.md.

It stores what real OpenObserve would store (one flattened row per span, per stream; one
row per metric data point, per metric stream: `openobserve_metrics.py`), answers the way
OpenObserve answers (401, 400, 413, 503, ...), runs search SQL on DataFusion as OpenObserve
does (`openobserve_search.py`), serves the dashboard, alert and destination APIs
`provision` uses (`openobserve_management.py`), and can be told to fail or to be slow for
a while. Tests run it in-process (`OpenObserveEmulator().start()`); the no-Docker demo runs
it as `python -m tests.openobserve_emulator`.
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
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.openobserve_management import DEFAULT_FOLDER, ApiError, Management

INGEST_PATH = re.compile(r"^/api/(?P<org>[^/]+)/(?:v1/)?traces$")
METRICS_INGEST_PATH = re.compile(r"^/api/(?P<org>[^/]+)/v1/metrics$")
SEARCH_PATH = re.compile(r"^/api/(?P<org>[^/]+)/_search$")
DASHBOARDS_PATH = re.compile(r"^/api/(?P<org>[^/]+)/dashboards(?:/(?P<id>[^/]+))?$")
ALERTS_PATH = re.compile(r"^/api/v2/(?P<org>[^/]+)/alerts(?:/(?P<id>[^/]+))?$")
SCHEMA_PATH = re.compile(r"^/api/(?P<org>[^/]+)/streams/(?P<stream>[^/]+)/schema$")
DESTINATIONS_PATH = re.compile(r"^/api/(?P<org>[^/]+)/alerts/destinations$")
MAX_COLUMNS_PER_REQUEST = 1000
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


# --- OpenObserve's flattening rules -------------------------------------------------


def normalise_stream_name(name: str | None) -> str:
    """Characters outside [a-zA-Z0-9_:] become '_', then lowercase; default 'default'."""
    if not name:
        return "default"
    return re.sub(r"[^a-zA-Z0-9_:]", "_", name).lower()


def flatten_key(key: str) -> str:
    """Lowercase; every character outside [a-z0-9_] becomes '_'."""
    return re.sub(r"[^a-z0-9_]", "_", key.lower())


def plain_value(value: AnyValue) -> Any:
    """The JSON-able Python value of an OTLP AnyValue."""
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


def column_value(value: AnyValue) -> str | None:
    """Scalars as strings (bools lowercase), arrays and maps as JSON strings."""
    plain = plain_value(value)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    if isinstance(plain, (list, dict)):
        return json.dumps(plain, separators=(",", ":"))
    return None if plain is None else str(plain)


def _attributes(
    attrs: Any, prefix: str = "", collisions: list[tuple[str, str]] | None = None
) -> dict[str, str | None]:
    columns: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for kv in attrs:
        column = prefix + flatten_key(kv.key)
        if column in RESERVED_COLUMNS:
            column = "attr_" + column
        if column in sources and collisions is not None:
            # OpenObserve keeps one of the two silently; the emulator also reports it.
            collisions.append((sources[column], kv.key))
        sources[column] = kv.key
        columns[column] = column_value(kv.value)
    return columns


def span_rows(
    request: ExportTraceServiceRequest, collisions: list[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """One OpenObserve row per span; attribute keys that flatten alike go to `collisions`."""
    rows = []
    for resource_spans in request.resource_spans:
        resource = resource_spans.resource.attributes
        service_name = _service_name(resource)
        resource_columns = _attributes(resource, prefix="service_")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span_columns = _attributes(span.attributes, collisions=collisions)
                row: dict[str, Any] = {**resource_columns, **span_columns}
                row.update(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    span_kind=str(span.kind),
                    span_status=STATUS_NAMES.get(span.status.code, "UNSET"),
                    status_code=str(span.status.code),
                    status_message=span.status.message,
                    operation_name=span.name,
                    start_time=span.start_time_unix_nano,
                    end_time=span.end_time_unix_nano,
                    duration=(span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
                    _timestamp=span.start_time_unix_nano // 1000,
                    service_name=service_name,
                    reference_parent_span_id=span.parent_span_id.hex(),
                    events=json.dumps([_event(e) for e in span.events], separators=(",", ":")),
                )
                rows.append(row)
    return rows


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


def _service_name(resource: Any) -> str:
    for kv in resource:
        if kv.key == "service.name":
            return kv.value.string_value or "unknown"
    return "unknown"


def _event(event: Any) -> dict[str, Any]:
    attrs = {kv.key: plain_value(kv.value) for kv in event.attributes}
    return {"name": event.name, "_timestamp": event.time_unix_nano // 1000, **attrs}


# --- decoding ---------------------------------------------------------------------


def decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return body
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    except (OSError, zlib.error, EOFError) as error:
        raise IngestError(400, f"cannot decompress {encoding} body: {error}") from None
    except Exception as error:  # zstandard raises its own ZstdError
        raise IngestError(400, f"cannot decompress {encoding} body: {error}") from None
    raise IngestError(400, f"unsupported Content-Encoding: {encoding}")


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


def encode_response(content_type: str) -> tuple[bytes, str]:
    response = ExportTraceServiceResponse()
    if content_type.startswith("application/json"):
        return b"{}", "application/json"
    return response.SerializeToString(), "application/x-protobuf"


# --- the server -------------------------------------------------------------------


@dataclass
class Fault:
    """An injected answer: `status` (or a delay) until `until` or for `remaining` requests."""

    status: int | None = None
    delay_s: float = 0.0
    until: float | None = None
    remaining: int | None = None

    def active(self, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return self.remaining is None or self.remaining > 0


@dataclass
class RequestLog:
    path: str
    status: int
    stream: str | None
    spans: int
    at: float = field(default_factory=time.time)
    method: str = "POST"


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
    ) -> None:
        self.email = email
        # Load tests: keep only span and trace ids (loss and duplicates), skip flattening.
        self.ids_only = ids_only
        self.password = password
        self.max_body_bytes = max_body_bytes
        self._lock = threading.Lock()
        self._streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self._metric_streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.management = Management()
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
        return self.basic_token(self.email, self.password)

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
    def fail(self, status: int, seconds: float | None = None, count: int | None = None) -> None:
        """Answer `status` to ingest requests for `seconds`, or `count` times, or until cleared."""
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._faults.append(Fault(status=status, until=until, remaining=count))

    def slow(self, delay_s: float, seconds: float | None = None) -> None:
        """Delay every ingest request by `delay_s` (for `seconds`, or until cleared)."""
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._faults.append(Fault(delay_s=delay_s, until=until))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self) -> tuple[int | None, float]:
        now = time.monotonic()
        status, delay = None, 0.0
        with self._lock:
            self._faults = [f for f in self._faults if f.active(now)]
            for fault in self._faults:
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
            self.requests.clear()

    # request handling (called from handler threads)
    def check_auth(self, header: str | None) -> bool:
        return header == self.auth_token

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

    def ingest_metrics(self, org: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            for stream, row in rows:
                self._metric_streams[(org, stream)].append(row)

    def stream_schema(self, org: str, stream: str, stream_type: str) -> dict[str, Any]:
        """`GET /api/{org}/streams/{stream}/schema`: every column the stream's rows have."""
        from tests.openobserve_search import arrow_type_name, stream_table

        streams = self._metric_streams if stream_type == "metrics" else self._streams
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

    def search(
        self, org: str, query: dict[str, Any], stream_type: str = "traces"
    ) -> dict[str, Any]:
        from tests.openobserve_search import run_sql

        streams = self._metric_streams if stream_type == "metrics" else self._streams
        with self._lock:
            tables = {
                stream: list(rows) for (row_org, stream), rows in streams.items() if row_org == org
            }
        hits = run_sql(query, tables)
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

        def do_POST(self) -> None:
            body = self._body()
            path = self.path.split("?")[0]
            if match := INGEST_PATH.match(path):
                self._ingest(match["org"], body, "traces")
            elif match := METRICS_INGEST_PATH.match(path):
                self._ingest(match["org"], body, "metrics")
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
            status, delay = emulator._take_fault()
            if delay:
                time.sleep(delay)
            stream = self.headers.get("stream-name")
            try:
                if status is not None:
                    raise IngestError(status, HTTPStatus(status).phrase)
                if not emulator.check_auth(self.headers.get("Authorization")):
                    raise IngestError(401, "Unauthorized Access")
                if len(body) > emulator.max_body_bytes:
                    raise IngestError(413, "Payload Too Large")
                raw = decompress(body, self.headers.get("Content-Encoding", ""))
                if len(raw) > emulator.max_body_bytes:
                    raise IngestError(413, "Payload Too Large")
                content_type = self.headers.get("Content-Type", "")
                if signal == "metrics":
                    stored_in, count = self._ingest_metrics(org, raw, content_type)
                else:
                    stored_in, count = self._ingest_spans(org, stream, raw, content_type)
            except IngestError as error:
                emulator.log(RequestLog(self.path, error.status, stream, 0))
                self._answer(error.status, {"code": error.status, "message": str(error)})
                return
            emulator.log(RequestLog(self.path, 200, stored_in, count))
            payload, media_type = encode_response(content_type)
            self._send(200, payload, media_type)

        def _ingest_spans(
            self, org: str, stream: str | None, raw: bytes, content_type: str
        ) -> tuple[str, int]:
            request = parse_request(raw, content_type)
            if emulator.ids_only:
                rows = span_ids(request)
            else:
                rows = span_rows(request, emulator.collisions)
            return emulator.ingest(org, stream, rows), len(rows)

        def _ingest_metrics(self, org: str, raw: bytes, content_type: str) -> tuple[str, int]:
            from tests.openobserve_metrics import metric_rows, parse_metrics_request

            rows = metric_rows(parse_metrics_request(raw, content_type))
            emulator.ingest_metrics(org, rows)
            return "metrics", len(rows)

        def _search(self, org: str, body: bytes) -> None:
            if not emulator.check_auth(self.headers.get("Authorization")):
                self._answer(401, {"code": 401, "message": "Unauthorized Access"})
                return
            stream_type = self._query().get("type", "logs")
            try:
                query = json.loads(body)["query"]
                result = emulator.search(org, query, stream_type)
            except (ValueError, KeyError, TypeError) as error:
                self._answer(400, {"code": 400, "message": f"Search SQL error: {error}"})
                return
            self._answer(200, result)

        def _query(self) -> dict[str, str]:
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))

        def _manage(self, method: str, body: bytes) -> None:
            """Dashboards, alerts and destinations; every call is logged with its method."""
            path = self.path.split("?")[0]
            try:
                if not emulator.check_auth(self.headers.get("Authorization")):
                    raise ApiError(401, "Unauthorized Access")
                document = json.loads(body) if body else None
                status, answer = 200, self._route(method, path, document)
            except ApiError as error:
                status, answer = error.status, {"code": error.status, "message": str(error)}
            except json.JSONDecodeError:
                status, answer = 400, {"code": 400, "message": "Error parsing request body"}
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
            raise ApiError(404, "not found")

        def _answer(self, status: int, document: Any) -> None:
            self._send(status, json.dumps(document).encode(), "application/json")

        def _send(self, status: int, payload: bytes, media_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(payload)))
            if status in (429, 503):
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(payload)

    return Handler


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
    args = parser.parse_args()
    emulator = OpenObserveEmulator(
        args.email, args.password, args.host, args.port, ids_only=args.ids_only
    )
    print(f"OpenObserve emulator listening on {emulator.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator._server.serve_forever()


if __name__ == "__main__":
    main()
