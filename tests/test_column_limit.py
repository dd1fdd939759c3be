"""Long conversations: OpenObserve rejects a whole request with more than 1000 columns for a
stream, and gRPC a message over 4 MiB. The collector's config makes neither happen."""

from __future__ import annotations

from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from scripts.bench import export_requests
from scripts.collector_process import Collector
from tests.harness import run_scenarios, scenarios_process, wait_for
from tests.openobserve_emulator import OpenObserveEmulator

FLATTENED_APP = {  # OpenInference's own defaults: every message and tool flattened
    "OPENINFERENCE_HIDE_INPUT_MESSAGES": "false",
    "OPENINFERENCE_HIDE_OUTPUT_MESSAGES": "false",
    "OPENINFERENCE_HIDE_LLM_TOOLS": "false",
}


def collector_for(emulator: OpenObserveEmulator, workdir: Path, edit=None) -> Collector:
    env = {
        "OPENOBSERVE_URL": emulator.url,
        "OPENOBSERVE_ORG": "acme",
        "OPENOBSERVE_AUTH_TOKEN": emulator.auth_token,
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


def test_without_bounded_columns_openobserve_would_reject_them(tmp_path: Path) -> None:
    """The counterfactual: the same spans with transform/bound_columns removed."""

    def drop_bound_columns(config: dict) -> None:
        pipeline = config["service"]["pipelines"]["traces"]
        pipeline["processors"].remove("transform/bound_columns")

    with OpenObserveEmulator() as emulator:
        collector = collector_for(emulator, tmp_path, edit=drop_bound_columns)
        try:
            scenarios_process(collector.otlp_grpc_endpoint, ["varied_conversations"], FLATTENED_APP)
            wait_for(
                lambda: any(r.status == 400 for r in emulator.requests),
                what="OpenObserve's 400 for too many columns",
            )
        finally:
            collector.stop()
        assert not [r for r in emulator.rows("default") if r.get("llm_model_name")]


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
