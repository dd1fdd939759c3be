"""The emulator's management, metrics and SQL surfaces behave as OpenObserve's do."""

from __future__ import annotations

import copy
import time

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from openrouter_openobserve.openobserve_api import OpenObserve, OpenObserveError
from openrouter_openobserve.provision import DASHBOARDS_DIR, load_json
from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator, kv
from openrouter_openobserve.testing.openobserve_search import histogram_step_s
from tests.harness import create_org
from tests.test_openobserve_emulator import post

NOW_US = 1_700_000_000_000_000


@pytest.fixture
def api(emulator: OpenObserveEmulator) -> OpenObserve:
    create_org(emulator, "acme")
    return OpenObserve(emulator.url, "acme", emulator.auth_token)


def status_of(call: object, *args: object) -> tuple[int | None, str]:
    with pytest.raises(OpenObserveError) as failure:
        call(*args)  # type: ignore[operator]
    return failure.value.status, str(failure.value)


def test_dashboards_are_created_listed_and_updated_with_their_hash(api: OpenObserve) -> None:
    (dashboard,) = load_json(DASHBOARDS_DIR)
    created = api.call("POST", "/api/acme/dashboards", dashboard, {"folder": "default"})
    dashboard_id = created["v5"]["dashboardId"]
    assert created["version"] == 5 and created["v5"]["owner"] == "root@example.com"
    (listed,) = api.call("GET", "/api/acme/dashboards")["dashboards"]
    assert listed["dashboard_id"] == dashboard_id and listed["hash"] == created["hash"]
    path = f"/api/acme/dashboards/{dashboard_id}"
    assert api.call("GET", path)["v5"]["tabs"] == dashboard["tabs"]

    edited = {**dashboard, "description": "edited"}
    assert status_of(api.call, "PUT", path, edited)[0] == 500  # no hash: OpenObserve's "BUG"
    assert status_of(api.call, "PUT", path, edited, {"hash": "1"})[0] == 409
    updated = api.call("PUT", path, edited, {"hash": created["hash"]})
    assert updated["v5"]["description"] == "edited" and updated["hash"] != created["hash"]
    assert updated["v5"]["dashboardId"] == dashboard_id
    api.call("DELETE", path)
    assert status_of(api.call, "DELETE", path) == (
        404,
        f"OpenObserve answered 404 to DELETE {path}: Dashboard not found",
    )


def test_malformed_dashboards_are_refused_like_openobserve(api: OpenObserve) -> None:
    (dashboard,) = load_json(DASHBOARDS_DIR)
    no_layout = copy.deepcopy(dashboard)
    del no_layout["tabs"][0]["panels"][0]["layout"]
    no_legend = copy.deepcopy(dashboard)
    del no_legend["tabs"][1]["panels"][0]["config"]["show_legends"]
    for body in (no_layout, no_legend, {"version": 5, "title": ""}):
        status, message = status_of(api.call, "POST", "/api/acme/dashboards", body)
        assert status == 422 and "Failed to deserialize the JSON body" in message, message
    status, message = status_of(api.call, "POST", "/api/acme/dashboards", b"{not json")
    assert status == 400 and "Failed to parse the request body as JSON" in message
    assert api.call("GET", "/api/acme/dashboards") == {"dashboards": []}


def ingest_one_span(emulator: OpenObserveEmulator, org: str, stream: str) -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id = bytes(range(16)), bytes(range(8))
    span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
    status, _ = post(
        emulator,
        request.SerializeToString(),
        path=f"/api/{org}/v1/traces",
        stream=stream,
        auth=emulator.ingest_token,
    )
    assert status == 200


def alert(**changes: object) -> dict[str, object]:
    return {
        "name": "cost",
        "stream_type": "traces",
        "stream_name": "default",
        "query_condition": {"type": "sql", "sql": 'SELECT 1 FROM "default"'},
        "trigger_condition": {"period": 10, "operator": ">=", "threshold": 1, "frequency": 5},
        "destinations": ["oncall"],
        **changes,
    }


def test_alerts_need_an_existing_destination_and_a_plain_name(
    api: OpenObserve, emulator: OpenObserveEmulator
) -> None:
    path = "/api/v2/acme/alerts"
    refusals = {
        "Alert destinations is required": (400, alert(destinations=[])),
        "Alert destination oncall not found": (404, alert()),
    }
    for message, (status, body) in refusals.items():
        assert status_of(api.call, "POST", path, body) == (
            status,
            f"OpenObserve answered {status} to POST {path}: {message}",
        )
    api.call("POST", "/api/acme/alerts/destinations", {"name": "oncall", "url": "http://x/"})
    assert status_of(api.call, "POST", path, alert(name="hourly cost"))[0] == 400
    assert status_of(api.call, "POST", path, alert(name="a/b"))[0] == 400
    # A stream without data has no schema yet: OpenObserve refuses alerts on it.
    assert status_of(api.call, "POST", path, alert()) == (
        404,
        f"OpenObserve answered 404 to POST {path}: Stream default not found",
    )
    ingest_one_span(emulator, "acme", "default")
    api.call("POST", path, alert())
    # Names are not unique: a second create makes a second alert; only a known id is refused.
    second = api.call("POST", path, alert())["id"]
    assert status_of(api.call, "POST", path, alert(id=second))[0] == 409
    first, again = api.call("GET", path)["list"]
    assert first["name"] == again["name"] == "cost"
    api.call("DELETE", f"{path}/{second}")
    assert status_of(api.call, "DELETE", f"{path}/{second}")[0] == 404
    (listed,) = api.call("GET", path)["list"]
    api.call("PUT", f"{path}/{listed['alert_id']}", alert(description="spend"))
    assert api.call("GET", f"{path}/{listed['alert_id']}")["description"] == "spend"
    assert [d["name"] for d in api.call("GET", "/api/acme/alerts/destinations")] == ["oncall"]


def metrics_request() -> bytes:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.append(kv("service.name", "app"))
    scope = resource_metrics.scope_metrics.add()
    scope.scope.name = "signaltometrics"
    requests = scope.metrics.add(name="openrouter.requests")
    requests.sum.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    requests.sum.is_monotonic = True
    point = requests.sum.data_points.add(as_int=3, time_unix_nano=NOW_US * 1000)
    point.attributes.append(kv("gen_ai.request.model", "a/x"))
    latency = scope.metrics.add(name="gen_ai.client.operation.duration")
    latency.histogram.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    latency.histogram.data_points.add(
        count=6,
        sum=7.5,
        min=0.5,
        max=3.0,
        explicit_bounds=[1.0, 2.5],
        bucket_counts=[1, 2, 3],
        time_unix_nano=NOW_US * 1000,
    )
    return request.SerializeToString()


def test_otlp_metrics_become_one_stream_per_metric(
    api: OpenObserve, emulator: OpenObserveEmulator
) -> None:
    from tests.test_openobserve_emulator import post

    assert post(emulator, metrics_request(), path="/api/acme/v1/metrics")[0] == 200
    (counter,) = emulator.metric_rows("openrouter_requests")
    assert counter["__name__"] == "openrouter_requests"
    assert (counter["value"], counter["gen_ai_request_model"]) == (3.0, "a/x")
    assert counter["service_name"] == "app" and counter["_timestamp"] == NOW_US
    assert counter["aggregation_temporality"] == "AGGREGATION_TEMPORALITY_DELTA"
    assert (counter["is_monotonic"], counter["flag"]) == ("true", "DATA_POINT_FLAGS_DO_NOT_USE")
    buckets = emulator.metric_rows("gen_ai_client_operation_duration_bucket")
    assert [(row["le"], row["value"]) for row in buckets] == [
        ("1", 1.0),
        ("2.5", 3.0),
        ("inf", 6.0),
    ]
    for suffix, value in (("count", 6.0), ("sum", 7.5), ("min", 0.5), ("max", 3.0)):
        (row,) = emulator.metric_rows(f"gen_ai_client_operation_duration_{suffix}")
        assert row["value"] == value
    sql = 'SELECT SUM(value) AS n FROM "openrouter_requests"'
    assert api.search(sql, NOW_US - 1, NOW_US + 1, "metrics") == [{"n": 3.0}]
    # Traces are another namespace, where that stream does not exist: 400, error 20002.
    status, message = status_of(api.search, sql, NOW_US - 1, NOW_US + 1, "traces")
    assert status == 400 and message.endswith("Search stream not found: openrouter_requests")


@pytest.mark.parametrize("release", list(genai.RELEASES))
def test_an_unset_histogram_min_and_max_are_no_value(release: str) -> None:
    """process_hist_data_point: v0.91.5 writes the rows without a value, v0.92 none; never 0."""
    from tests.test_openobserve_emulator import post

    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="latency")
    point = metric.histogram.data_points.add(count=1, time_unix_nano=NOW_US * 1000)
    point.attributes.append(kv("cached", True))
    with OpenObserveEmulator(release=release) as emulator:
        assert post(emulator, request.SerializeToString(), path="/api/acme/v1/metrics")[0] == 200
        (count,) = emulator.metric_rows("latency_count")
        parts = [emulator.metric_rows(f"latency_{part}") for part in ("sum", "min", "max")]
    assert count["cached"] == "true"  # get_val: a point attribute is stored as text
    if genai.RELEASES[release].null_histogram_parts:
        assert [[row["value"] for row in rows] for rows in parts] == [[None]] * 3
    else:
        assert parts == [[], [], []]


def test_sql_runs_as_in_openobserve(api: OpenObserve, emulator: OpenObserveEmulator) -> None:
    rows = [
        {"_timestamp": NOW_US + i * 20_000_000, "m": "a" if i % 2 else "b", "duration": i * 100}
        for i in range(6)
    ]
    emulator.ingest("acme", "s", rows)
    hour_us = 3_600_000_000
    # generate_histogram_interval's table: 24 h -> 1 h buckets, 2 h -> 1 min, 1 h -> 30 s.
    assert [histogram_step_s(NOW_US, NOW_US + h * hour_us) for h in (24, 2, 1)] == [3600, 60, 30]
    window = (NOW_US, NOW_US + 2 * hour_us)
    hits = api.search(
        'SELECT histogram(_timestamp) AS t, COUNT(*) AS n FROM "s" GROUP BY t ORDER BY t', *window
    )
    assert hits == [
        {"t": "2023-11-14T22:13:00", "n": 2},
        {"t": "2023-11-14T22:14:00", "n": 3},
        {"t": "2023-11-14T22:15:00", "n": 1},
    ]
    grouped = api.search(
        'SELECT m, approx_percentile_cont(duration, 0.5) AS p50 FROM "s" GROUP BY m ORDER BY m',
        *window,
    )
    assert grouped == [{"m": "a", "p50": 300.0}, {"m": "b", "p50": 200.0}]
    for sql, complaint in (
        ('SELECT nope FROM "s"', "No field named nope"),
        ('DELETE FROM "s"', "Search SQL not valid"),
    ):
        status, message = status_of(api.search, sql, *window)
        assert status == 400 and complaint in message


def test_stream_schema_lists_columns_with_types(
    api: OpenObserve, emulator: OpenObserveEmulator
) -> None:
    emulator.ingest("acme", "s", [{"_timestamp": NOW_US, "gen_ai_usage_cost": "0.1"}])
    schema = api.call("GET", "/api/acme/streams/s/schema", None, {"type": "traces"})
    assert schema["schema"] == [
        {"name": "_timestamp", "type": "Int64"},
        {"name": "gen_ai_usage_cost", "type": "Utf8"},
    ]
    status, _ = status_of(
        api.call, "GET", "/api/acme/streams/none/schema", None, {"type": "traces"}
    )
    assert status == 404
