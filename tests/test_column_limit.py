"""Long conversations: OpenObserve rejects a whole request with more than 1000 columns for a
stream, and gRPC a message over 4 MiB. The collector's config makes neither happen, and keeps
a row's columns the same however many messages and tools a call has."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from openrouter_openobserve.collector_process import Collector
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from scripts.bench import export_requests
from tests.harness import run_scenarios, wait_for

FLATTENED_APP = {  # OpenInference's own defaults: every message and tool flattened
    "OPENINFERENCE_HIDE_INPUT_MESSAGES": "false",
    "OPENINFERENCE_HIDE_OUTPUT_MESSAGES": "false",
    "OPENINFERENCE_HIDE_LLM_TOOLS": "false",
}


def collector_for(emulator: OpenObserveEmulator, workdir: Path, edit=None) -> Collector:
    env = {
        "OPENOBSERVE_URL": emulator.url,
        "OPENOBSERVE_ORG": "acme",
        "OPENOBSERVE_AUTH_TOKEN": emulator.ingest_token,
        "CONTENT_POLICY": "full",
    }
    return Collector(workdir, env, edit=edit).start()


def test_long_flattened_conversations_never_hit_the_column_limit(tmp_path: Path) -> None:
    with OpenObserveEmulator() as emulator:
        collector = collector_for(emulator, tmp_path)
        try:
            run = run_scenarios(emulator, collector, ["varied_conversations"], FLATTENED_APP)
        finally:
            collector.stop()
        assert {r.status for r in emulator.requests} == {200}
    rows = run.llm_rows("varied_conversations")
    assert len(rows) == 3
    assert max(len(row) for row in rows) < 100


def test_without_bounded_columns_every_tool_would_be_a_column(tmp_path: Path) -> None:
    """The counterfactual: the same spans with transform/bound_columns removed. OpenObserve's
    own GenAI processor drops the flattened messages of an LLM span (`is_input_output_attribute`
    in its otel/extractors/input_output.rs), so the request is accepted, but it keeps every
    flattened tool: one column per tool index, growing with the conversation's tools."""

    def drop_bound_columns(config: dict) -> None:
        pipeline = config["service"]["pipelines"]["traces"]
        pipeline["processors"].remove("transform/bound_columns")

    with OpenObserveEmulator() as emulator:
        collector = collector_for(emulator, tmp_path, edit=drop_bound_columns)
        try:
            run = run_scenarios(emulator, collector, ["varied_conversations"], FLATTENED_APP)
        finally:
            collector.stop()
    tool_columns = {
        column
        for row in run.llm_rows("varied_conversations")
        for column in row
        if re.match(r"^llm_tools_[0-9]+_", column)
    }
    assert len(tool_columns) >= 20
    assert not any(
        c.startswith(("llm_input_messages_", "llm_output_messages_")) for c in tool_columns
    )


def test_a_batch_of_long_chats_over_4_mib_is_accepted(tmp_path: Path) -> None:
    """gRPC refuses messages over 4 MiB by default: a whole SDK batch would be dropped."""
    [request] = export_requests(total=200, batch=200, messages=200)
    assert request.ByteSize() > 4 * 2**20
    with OpenObserveEmulator(ids_only=True) as emulator:
        collector = collector_for(emulator, tmp_path)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{collector.grpc_port}")
            TraceServiceStub(channel).Export(request, timeout=30)
            wait_for(lambda: len(emulator.rows("default")) == 200, what="the 200 spans")
        finally:
            collector.stop()
