"""The emulator's OTLP logs ingest, against what OpenObserve's `handle_request`
(src/service/logs/otlp.rs) stores: one flattened row per record, in the named stream."""

from __future__ import annotations

import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue, KeyValueList

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator, kv
from tests.test_openobserve_emulator import post

LOGS_PATH = "/api/acme/v1/logs"


def logs_request(*records: dict) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(kv("service.name", "shop"))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name, scope_logs.scope.version = "shop.orders", "1.2"
    for fields in records:
        record = scope_logs.log_records.add()
        for key, value in fields.items():
            if key == "attributes":
                record.attributes.extend(value)
            elif key == "body":
                record.body.CopyFrom(value)
            else:
                setattr(record, key, value)
    return request


def test_a_record_becomes_one_flattened_row(emulator: OpenObserveEmulator) -> None:
    now = time.time_ns()
    body = AnyValue(
        kvlist_value=KeyValueList(
            values=[KeyValue(key="Content", value=AnyValue(string_value="hi")), kv("n", 2)]
        )
    )
    request = logs_request(
        {
            "time_unix_nano": now,
            "severity_text": "WARN",
            "severity_number": 13,
            "body": body,
            "attributes": [kv("order.id", 1234), kv("paid", True)],
            "trace_id": bytes(range(1, 17)),
            "span_id": bytes(range(1, 9)),
        },
        {"observed_time_unix_nano": now, "severity_number": 9},
    )
    status, _ = post(emulator, request.SerializeToString(), path=LOGS_PATH, stream="app")
    assert status == 200
    first, second = emulator.log_rows("app")
    assert first == {
        "service_name": "shop",
        "instrumentation_library_name": "shop.orders",
        "instrumentation_library_version": "1.2",
        "_timestamp": now // 1000,
        "severity": "WARN",
        # get_val: the body's scalars become strings; flattening makes body_<key> columns.
        "body_content": "hi",
        "body_n": "2",
        "dropped_attributes_count": 0,
        # get_val_with_type_retained: attributes keep their types.
        "order_id": 1234,
        "paid": True,
        "trace_id": bytes(range(1, 17)).hex(),
        "span_id": bytes(range(1, 9)).hex(),
    }
    # No time: the observed time; no severity text: the number; no ids: no id columns.
    assert second["_timestamp"] == now // 1000 and second["severity"] == 9
    assert "trace_id" not in second and "body" not in second
    assert emulator.rows("app") == []  # a log stream, not a trace stream


def test_records_outside_the_ingest_window_are_a_partial_success(
    emulator: OpenObserveEmulator,
) -> None:
    old = time.time_ns() - 6 * 3600 * 10**9  # ZO_INGEST_ALLOWED_UPTO is 5 h by default
    request = logs_request({"time_unix_nano": old}, {"time_unix_nano": time.time_ns()})
    status, answer = post(emulator, request.SerializeToString(), path=LOGS_PATH)
    assert status == 200
    response = ExportLogsServiceResponse.FromString(answer)
    assert response.partial_success.rejected_log_records == 1
    assert len(emulator.log_rows("default")) == 1  # no stream-name header: `default`


def test_logs_need_credentials(emulator: OpenObserveEmulator) -> None:
    request = logs_request({"time_unix_nano": time.time_ns()})
    status, _ = post(emulator, request.SerializeToString(), path=LOGS_PATH, auth="Basic eDp5")
    assert status == 401 and emulator.log_rows("default") == []
