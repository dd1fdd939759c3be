"""The OpenObserve emulator ingests as OpenObserve's source does (`openobserve_emulator.py`
names the function each behaviour follows)."""

from __future__ import annotations

import base64
import gzip
import json
import time
import urllib.error
import urllib.request
import zlib

import pytest
import zstandard
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator, kv
from tests.harness import wait_for

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")
PARENT_ID = bytes.fromhex("eee19b7ec3c1b173")
# Spans must start within OpenObserve's ingest window (the last 5 hours by default).
START_NS = (time.time_ns() // 1_000_000_000 - 60) * 1_000_000_000


def make_request(span_attrs: dict | None = None, resource_attrs: dict | None = None):
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        kv(k, v) for k, v in ({"service.name": "svc"} | (resource_attrs or {})).items()
    )
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.parent_span_id = TRACE_ID, SPAN_ID, PARENT_ID
    span.name = "ChatCompletion"
    span.kind = Span.SPAN_KIND_CLIENT
    span.start_time_unix_nano = START_NS
    span.end_time_unix_nano = START_NS + 250_000_000
    span.status.code = Status.STATUS_CODE_ERROR
    span.status.message = "boom"
    span.attributes.extend(kv(k, v) for k, v in (span_attrs or {}).items())
    event = span.events.add()
    event.name = "exception"
    event.time_unix_nano = START_NS + 100_000_000
    event.attributes.append(kv("exception.type", "RateLimitError"))
    return request


def post(
    emulator: OpenObserveEmulator,
    body: bytes,
    *,
    path: str = "/api/acme/v1/traces",
    content_type: str = "application/x-protobuf",
    encoding: str | None = None,
    auth: str | None = "valid",
    stream: str | None = None,
) -> tuple[int, bytes]:
    headers = {"Content-Type": content_type}
    if auth:
        headers["Authorization"] = emulator.auth_token if auth == "valid" else auth
    if encoding:
        headers["Content-Encoding"] = encoding
    if stream is not None:
        headers["stream-name"] = stream
    request = urllib.request.Request(emulator.url + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_protobuf_span_becomes_one_flattened_row(emulator: OpenObserveEmulator) -> None:
    body = make_request(
        span_attrs={
            "llm.model_name": "openai/gpt-4o",
            "llm.token_count.prompt": 12,
            "gen_ai.usage.cost": 0.00042,
            "llm.is-streaming": True,
            "tags": ["a", "b"],
            "Mixed.Case-Key": "x",
        },
        resource_attrs={"deployment.environment.name": "prod"},
    ).SerializeToString()
    assert post(emulator, body, stream="LLM-Traces.v1")[0] == 200
    [row] = emulator.rows("llm_traces_v1", org="acme")
    assert row["trace_id"] == TRACE_ID.hex()
    assert row["span_id"] == SPAN_ID.hex()
    assert row["reference_parent_span_id"] == PARENT_ID.hex()
    assert row["span_kind"] == "3"
    assert row["span_status"] == "ERROR"
    assert row["status_message"] == "boom"
    assert row["operation_name"] == "ChatCompletion"
    assert row["duration"] == 250_000  # microseconds
    assert row["_timestamp"] == START_NS // 1000
    assert row["service_name"] == "svc"
    assert "service_service_name" not in row  # service.name is the service_name column
    assert row["service_deployment_environment_name"] == "prod"
    assert row["status_code"] == 2  # a number, unlike attribute values
    assert row["llm_model_name"] == "openai/gpt-4o"
    assert row["llm_token_count_prompt"] == "12"  # attribute values are strings (get_val)
    assert row["llm_is_streaming"] == "true"
    assert row["tags"] == '["a","b"]'
    assert row["mixed_case_key"] == "x"
    assert json.loads(row["events"]) == [
        {
            "name": "exception",
            "_timestamp": START_NS + 100_000_000,  # events keep nanoseconds
            "exception.type": "RateLimitError",
        }
    ]
    # An LLM span: OpenObserve's GenAI processor typed and added its columns.
    assert row["gen_ai_usage_cost"] == 0.00042
    assert row["gen_ai_usage_input_tokens"] == 12
    assert row["gen_ai_operation_name"] == "chat"


def test_reserved_column_collision_gets_attr_prefix(emulator: OpenObserveEmulator) -> None:
    body = make_request(span_attrs={"duration": "user value", "span.kind": "custom"})
    assert post(emulator, body.SerializeToString())[0] == 200
    [row] = emulator.rows("default")
    assert row["attr_duration"] == "user value"
    assert row["attr_span_kind"] == "custom"
    assert row["duration"] == 250_000


def test_json_body_with_hex_ids(emulator: OpenObserveEmulator) -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "j"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE_ID.hex(),
                                "spanId": SPAN_ID.hex(),
                                "name": "json-span",
                                "kind": 3,
                                "startTimeUnixNano": str(START_NS),
                                "endTimeUnixNano": str(START_NS + 1_000_000),
                                "attributes": [
                                    {"key": "llm.token_count.total", "value": {"intValue": "7"}}
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    status, _ = post(emulator, json.dumps(document).encode(), content_type="application/json")
    assert status == 200
    [row] = emulator.rows("default")
    assert row["trace_id"] == TRACE_ID.hex()
    assert row["llm_token_count_total"] == "7"
    assert row["duration"] == 1000


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
    ],
)
def test_compressed_bodies(emulator: OpenObserveEmulator, encoding: str, compress) -> None:
    body = compress(make_request().SerializeToString())
    assert post(emulator, body, encoding=encoding)[0] == 200
    assert len(emulator.rows("default")) == 1


def test_zstd_is_415_and_stores_nothing(emulator: OpenObserveEmulator) -> None:
    """OpenObserve's decompression layer knows gzip, deflate and br only: a collector set
    to zstd would have every batch refused (and dropped: 415 is not retried)."""
    body = zstandard.ZstdCompressor().compress(make_request().SerializeToString())
    assert post(emulator, body, encoding="zstd")[0] == 415
    assert emulator.rows("default") == []


def test_legacy_path_without_v1(emulator: OpenObserveEmulator) -> None:
    assert post(emulator, make_request().SerializeToString(), path="/api/acme/traces")[0] == 200
    assert len(emulator.rows("default", org="acme")) == 1


@pytest.mark.parametrize("auth", [None, "Basic d3Jvbmc6Y3JlZHM=", "Bearer token"])
def test_wrong_or_missing_credentials_401_and_nothing_stored(
    emulator: OpenObserveEmulator, auth: str | None
) -> None:
    status, _ = post(emulator, make_request().SerializeToString(), auth=auth or "")
    assert status == 401
    assert emulator.rows("default") == []


def test_other_content_type_is_400(emulator: OpenObserveEmulator) -> None:
    status, body = post(emulator, b"{}", content_type="text/plain")
    assert status == 400
    assert b"Content-Type" in body


def test_garbage_body_is_400(emulator: OpenObserveEmulator) -> None:
    assert post(emulator, b"\xff\xfe not protobuf")[0] == 400
    assert post(emulator, b"not gzip", encoding="gzip")[0] == 400


def test_more_than_1000_columns_rejects_the_whole_request(emulator: OpenObserveEmulator) -> None:
    attrs = {f"llm.input_messages.{i}.message.content": "x" for i in range(1000)}
    status, body = post(emulator, make_request(span_attrs=attrs).SerializeToString())
    assert status == 400
    assert b"too many columns" in body
    assert emulator.rows("default") == []
    fewer = {f"k{i}": "x" for i in range(900)}
    assert post(emulator, make_request(span_attrs=fewer).SerializeToString())[0] == 200


def test_body_over_limit_is_413() -> None:
    with OpenObserveEmulator(max_body_bytes=1000) as small:
        big = make_request(span_attrs={"output.value": "x" * 2000}).SerializeToString()
        assert post(small, big)[0] == 413


def test_injected_failure_for_a_count(emulator: OpenObserveEmulator) -> None:
    emulator.fail(503, count=2)
    body = make_request().SerializeToString()
    assert [post(emulator, body)[0] for _ in range(3)] == [503, 503, 200]
    assert len(emulator.rows("default")) == 1


def test_injected_failure_for_a_period(emulator: OpenObserveEmulator) -> None:
    emulator.fail(429, seconds=0.5)
    body = make_request().SerializeToString()
    failed_at = time.monotonic()
    assert post(emulator, body)[0] == 429
    wait_for(lambda: post(emulator, body)[0] == 200, timeout_s=5, interval_s=0.05)
    assert time.monotonic() - failed_at >= 0.4  # refused for the period, not once


def test_injected_slowness(emulator: OpenObserveEmulator) -> None:
    emulator.slow(0.3, seconds=5)
    started = time.monotonic()
    assert post(emulator, make_request().SerializeToString())[0] == 200
    assert time.monotonic() - started >= 0.3


def test_real_sdk_exporter_with_gzip(emulator: OpenObserveEmulator) -> None:
    """The OTel SDK's own OTLP/HTTP exporter, as OpenObserve's guide uses it, is accepted."""
    exporter = OTLPSpanExporter(
        endpoint=f"{emulator.url}/api/acme/v1/traces",
        headers={"Authorization": emulator.auth_token, "stream-name": "sdk"},
        compression=Compression.Gzip,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("op") as span:
        span.set_attribute("llm.model_name", "m")
    provider.shutdown()
    [row] = emulator.rows("sdk", org="acme")
    assert row["service_name"] == "sdk-app"
    assert row["llm_model_name"] == "m"


def test_search_api(emulator: OpenObserveEmulator) -> None:
    for model in ("a/x", "b/y", "a/x"):
        body = make_request(span_attrs={"llm.model_name": model}).SerializeToString()
        post(emulator, body, stream="llm")
    query = {
        "query": {
            "sql": "SELECT llm_model_name, span_status FROM \"llm\" WHERE llm_model_name = 'a/x'",
            "start_time": 1_600_000_000_000_000,
            "end_time": 1_800_000_000_000_000,
        }
    }
    status, body = post(
        emulator,
        json.dumps(query).encode(),
        path="/api/acme/_search?type=traces",
        content_type="application/json",
    )
    assert status == 200
    result = json.loads(body)
    assert result["total"] == 2
    assert result["hits"] == [{"llm_model_name": "a/x", "span_status": "ERROR"}] * 2
    outside = {"query": {**query["query"], "end_time": 1_600_000_000_000_001}}
    _, body = post(
        emulator,
        json.dumps(outside).encode(),
        path="/api/acme/_search?type=traces",
        content_type="application/json",
    )
    assert json.loads(body)["total"] == 0


def test_search_needs_credentials_and_valid_sql(emulator: OpenObserveEmulator) -> None:
    path = "/api/default/_search?type=traces"
    query = json.dumps({"query": {"sql": 'SELECT * FROM "default"'}}).encode()
    assert post(emulator, query, path=path, content_type="application/json", auth="")[0] == 401
    bad = json.dumps({"query": {"sql": "DROP TABLE x"}}).encode()
    assert post(emulator, bad, path=path, content_type="application/json")[0] == 400


def test_keys_that_flatten_alike_are_reported(emulator: OpenObserveEmulator) -> None:
    body = make_request(span_attrs={"a.b_c": "first", "a.b.c": "second"}).SerializeToString()
    assert post(emulator, body)[0] == 200
    [row] = emulator.rows("default")
    assert row["a_b_c"] == "second"  # one silently wins, as in OpenObserve
    assert emulator.collisions == [("a.b_c", "a.b.c")]


# --- behaviours read from OpenObserve's source ---------------------------------------------


def get(emulator: OpenObserveEmulator, path: str, auth: str) -> tuple[int, str, str]:
    request = urllib.request.Request(emulator.url + path, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_passcodes_and_org_tokens_may_only_ingest(emulator: OpenObserveEmulator) -> None:
    body = make_request().SerializeToString()
    assert post(emulator, body, auth=emulator.ingest_token)[0] == 200
    org_token = emulator.add_org_token("acme", "o2oi_" + "k" * 24)
    assert post(emulator, body, auth=org_token)[0] == 200
    assert post(emulator, body, path="/api/other/v1/traces", auth=org_token)[0] == 401
    for credential in (emulator.ingest_token, org_token):
        status, media_type, text = get(emulator, "/api/acme/dashboards", credential)
        assert (status, text) == (401, "Unauthorized Access")
        assert media_type.startswith("text/plain")  # the auth layer answers in plain text
    assert get(emulator, "/api/acme/dashboards", emulator.auth_token)[0] == 200


def test_an_org_exists_from_its_first_ingestion(emulator: OpenObserveEmulator) -> None:
    assert get(emulator, "/api/default/dashboards", emulator.auth_token)[0] == 200
    status, _, text = get(emulator, "/api/fresh/dashboards", emulator.auth_token)
    assert (status, text) == (404, "Organization not found")
    assert post(emulator, b"", path="/api/fresh/v1/traces")[0] == 200
    assert get(emulator, "/api/fresh/dashboards", emulator.auth_token)[0] == 200


def test_spans_outside_the_ingest_window_are_a_partial_success(
    emulator: OpenObserveEmulator,
) -> None:
    request = make_request()
    old = request.resource_spans[0].scope_spans[0].spans.add()
    old.CopyFrom(request.resource_spans[0].scope_spans[0].spans[0])
    old.span_id = bytes(8)
    old.start_time_unix_nano = time.time_ns() - 6 * 3600 * 10**9  # beyond the 5 hours
    status, payload = post(emulator, request.SerializeToString())
    assert status == 200
    assert ExportTraceServiceResponse.FromString(payload).partial_success.rejected_spans == 1
    assert [row["span_id"] for row in emulator.rows("default", org="acme")] == [SPAN_ID.hex()]
    # OTLP/JSON (ids in hex): 206 Partial Content, the same answer as JSON.
    document = json_format.MessageToDict(request)
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId", "parentSpanId"):
            span[key] = base64.b64decode(span[key]).hex()
    body = json.dumps(document).encode()
    status, payload = post(emulator, body, content_type="application/json")
    assert status == 206
    assert json.loads(payload)["partialSuccess"]["rejectedSpans"] == "1"


def test_map_valued_attributes_become_columns(emulator: OpenObserveEmulator) -> None:
    request = make_request()
    span = request.resource_spans[0].scope_spans[0].spans[0]
    attribute = span.attributes.add(key="request.meta")
    inner = attribute.value.kvlist_value.values
    inner.add(key="user").value.string_value = "u1"
    nested = inner.add(key="flags").value.kvlist_value.values
    nested.add(key="beta").value.bool_value = True
    assert post(emulator, request.SerializeToString())[0] == 200
    [row] = emulator.rows("default", org="acme")
    assert row["request_meta_user"] == "u1" and row["request_meta_flags_beta"] == "true"


def test_search_answers_1000_hits_unless_size_says_otherwise(
    emulator: OpenObserveEmulator,
) -> None:
    now = time.time_ns() // 1000
    emulator.ingest("default", "many", [{"_timestamp": now - i} for i in range(1200)])
    sql = 'SELECT _timestamp FROM "many"'
    assert len(emulator.search("default", {"sql": sql})["hits"]) == 1000
    assert len(emulator.search("default", {"sql": sql, "size": 1200})["hits"]) == 1200


LLM_SPAN = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "openai/gpt-4o-mini",
    "llm.invocation_parameters": '{"model": "openai/gpt-4o-mini", "temperature": 0.2, '
    '"stream": true}',
    "gen_ai.request.model": "openai/gpt-4o-mini",
    "llm.token_count.prompt": 1000,
    "llm.token_count.completion": 500,
    "gen_ai.usage.cost": 0.0,
    "input.value": '{"messages": [{"role": "user", "content": "hello"}]}',
    "output.value": '{"choices": []}',
}


@pytest.mark.parametrize("release", list(genai.RELEASES))
def test_the_genai_processor_rewrites_llm_spans(release: str) -> None:
    with OpenObserveEmulator(release=release) as emulator:
        assert post(emulator, make_request(span_attrs=LLM_SPAN).SerializeToString())[0] == 200
        [row] = emulator.rows("default", org="acme")
    # Content moves to OpenObserve's message columns; parameters become columns of text.
    assert "input_value" not in row and "hello" in row["gen_ai_input_messages"]
    assert row["gen_ai_output_messages"] == '{"choices": []}'
    assert (row["gen_ai_request_temperature"], row["gen_ai_request_stream"]) == ("0.2", "true")
    assert row["gen_ai_usage_input_tokens"] == 1000 and row["gen_ai_usage_total_tokens"] == 1500
    # A reported cost of 0: v0.91.5 overwrites it with its estimate, main keeps it.
    estimate = 1000 / 1e6 * 0.15 + 500 / 1e6 * 0.60
    expected = estimate if release == "v0.91.5" else 0.0
    assert row["gen_ai_usage_cost"] == pytest.approx(expected, rel=1e-9)
    assert row["gen_ai_usage_cost_input"] == pytest.approx(1000 / 1e6 * 0.15, rel=1e-9)
    assert row["gen_ai_usage_cost_output"] == pytest.approx(500 / 1e6 * 0.60, rel=1e-9)


def ingest_one(
    release: str, span_attrs: dict, resource_attrs: dict | None = None, scope: str = ""
) -> dict:
    with OpenObserveEmulator(release=release) as emulator:
        body = make_request(span_attrs=span_attrs, resource_attrs=resource_attrs)
        body.resource_spans[0].scope_spans[0].scope.name = scope
        assert post(emulator, body.SerializeToString())[0] == 200
        [row] = emulator.rows("default", org="acme")
    return row


# An OpenInference LLM span without content, tokens or cost (CONTENT_POLICY=metadata).
BARE_LLM_SPAN = {"openinference.span.kind": "LLM", "llm.model_name": "openai/gpt-4o-mini"}


def test_v0_91_5_prices_only_spans_with_content() -> None:
    """compute_usage_and_cost (v0.91.5): `if extracted.input.is_some() || ...output...`."""
    row = ingest_one("v0.91.5", BARE_LLM_SPAN | {"llm.token_count.prompt": 1000})
    assert row["gen_ai_usage_input_tokens"] == 1000 and row["gen_ai_usage_cost"] == 0.0
    priced = ingest_one(
        "v0.91.5", BARE_LLM_SPAN | {"input.value": "hi", "llm.token_count.prompt": 1000}
    )
    assert priced["gen_ai_usage_cost"] == pytest.approx(1000 / 1e6 * 0.15, rel=1e-9)


def test_v0_92_prices_every_generation() -> None:
    row = ingest_one("v0.92.2", BARE_LLM_SPAN | {"llm.token_count.prompt": 1000})
    assert row["gen_ai_usage_cost"] == pytest.approx(1000 / 1e6 * 0.15, rel=1e-9)


@pytest.mark.parametrize("key", ["openinference.span.kind", "gen_ai.agent.name"])
def test_agent_and_kind_keys_make_an_llm_span_from_v0_92(key: str) -> None:
    span = {key: "AGENT"}
    assert "gen_ai_operation_name" not in ingest_one("v0.91.5", span)
    assert "gen_ai_operation_name" in ingest_one("v0.92.2", span)


def test_cache_columns_are_numbers_from_v0_92() -> None:
    span = BARE_LLM_SPAN | {"gen_ai.usage.cache_read.input_tokens": "12"}
    assert ingest_one("v0.91.5", span)["gen_ai_usage_cache_read_input_tokens"] == "12"
    assert ingest_one("v0.92.2", span)["gen_ai_usage_cache_read_input_tokens"] == 12


def test_v0_92_writes_ingest_time_and_agent_identity() -> None:
    resource = {"service.version": "1.4.0", "deployment.environment": "staging"}
    before_us = time.time() * 1e6
    new = ingest_one("v0.92.2", BARE_LLM_SPAN, resource)
    assert before_us <= new["_o2_ingest_ts"] <= time.time() * 1e6
    assert (new["gen_ai_agent_version"], new["deployment_environment_name"]) == ("1.4.0", "staging")
    old = ingest_one("v0.91.5", BARE_LLM_SPAN, resource)
    assert {"_o2_ingest_ts", "gen_ai_agent_version", "deployment_environment_name"}.isdisjoint(old)


# A Vercel AI SDK doGenerate span: its content under its own keys.
VERCEL_SPAN = {
    "ai.model.id": "openai/gpt-4o-mini",
    "ai.prompt.messages": '[{"role":"user","content":"Hi"}]',
    "ai.response.text": "Hello",
}


@pytest.mark.parametrize("release", list(genai.RELEASES))
def test_vercel_ai_sdk_content_moves_into_the_genai_columns(release: str) -> None:
    """extract_vercel_ai_sdk, only for the scope named "ai"; is_input_output_attribute
    removes the Vercel keys from every LLM span."""
    row = ingest_one(release, VERCEL_SPAN, scope="ai")
    assert row["gen_ai_input_messages"] == VERCEL_SPAN["ai.prompt.messages"]
    assert row["gen_ai_output_messages"] == "Hello"
    assert {"ai_prompt_messages", "ai_response_text"}.isdisjoint(row)
    other = ingest_one(release, VERCEL_SPAN, scope="my-tracer")
    assert {"gen_ai_input_messages", "ai_prompt_messages", "ai_response_text"}.isdisjoint(other)


@pytest.mark.parametrize("release", list(genai.RELEASES))
def test_the_session_is_session_id_first(release: str) -> None:
    """extract_session_id: session.id wins over gen_ai.conversation.id, span over resource."""
    span = BARE_LLM_SPAN | {"session.id": "app", "gen_ai.conversation.id": "openrouter"}
    assert ingest_one(release, span)["gen_ai_conversation_id"] == "app"
    row = ingest_one(release, BARE_LLM_SPAN, {"session.id": "resource"})
    assert row["gen_ai_conversation_id"] == "resource"


def test_a_failed_llm_call_gets_the_requested_model_and_a_zero_cost(
    emulator: OpenObserveEmulator,
) -> None:
    failed = {
        key: value
        for key, value in LLM_SPAN.items()
        if key.startswith(("openinference", "llm.invocation", "gen_ai.request"))
    }
    assert post(emulator, make_request(span_attrs=failed).SerializeToString())[0] == 200
    [row] = emulator.rows("default", org="acme")
    assert row["gen_ai_response_model"] == "openai/gpt-4o-mini"
    assert row["gen_ai_usage_cost"] == 0.0 and row["gen_ai_usage_input_tokens"] == 0


def test_a_run_of_invalid_characters_in_a_stream_name_becomes_one_underscore(
    emulator: OpenObserveEmulator,
) -> None:
    """format_stream_name: `LLM -- Traces` is stored as `llm_traces`, which the settings'
    hint for an invalid OPENOBSERVE_STREAM names too."""
    from openrouter_openobserve import settings

    assert post(emulator, make_request().SerializeToString(), stream="LLM -- Traces")[0] == 200
    assert emulator.rows("llm_traces", org="acme")
    with pytest.raises(settings.SettingsError, match="would store 'llm_traces'"):
        settings.validate({"OPENOBSERVE_STREAM": "LLM -- Traces"})


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ('SELEC * FROM "default"', 20001),
        ('SELECT no_such_column FROM "default"', 20004),
        ('SELECT no_such_function(1) FROM "default"', 20005),
        ("SELECT CAST('x' AS BIGINT) AS n FROM \"default\"", 20008),
    ],
)
def test_sql_errors_carry_openobserves_error_codes(
    emulator: OpenObserveEmulator, sql: str, code: int
) -> None:
    assert post(emulator, make_request().SerializeToString())[0] == 200
    body = json.dumps({"query": {"sql": sql, "start_time": 0, "end_time": 2**62}}).encode()
    status, payload = post(
        emulator,
        body,
        path="/api/acme/_search?type=traces",
        content_type="application/json",
        auth=emulator.auth_token,
    )
    assert (status, json.loads(payload)["code"]) == (400, code), payload
