"""Scale-out with real collectors on loopback: two agents load-balance by trace id over two
gateways (the contrib loadbalancing exporter), which authenticate them with a shared bearer
token, normalise, and export to OpenObserve."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from openrouter_openobserve.collector_process import Collector, collector_metric
from openrouter_openobserve.testing.openobserve_emulator import (
    OpenObserveEmulator,
    flatten_key,
    kv,
)
from tests.harness import run_test_app, wait_for
from tests.privacy_app import SENTINELS
from tests.telemetry_app import LOG_LINE, METRIC

TOKEN = "agents-and-gateways-share-this-token"
SPANS_PER_TRACE = 4


def trace_request(trace_numbers: range, span_slots: range) -> ExportTraceServiceRequest:
    """Spans `span_slots` of each trace in `trace_numbers` (ids derived from the numbers)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(kv("service.name", "scale-out-test"))
    scope = resource_spans.scope_spans.add()
    now = time.time_ns()
    for number in trace_numbers:
        for slot in span_slots:
            span = scope.spans.add()
            span.trace_id = (number + 1).to_bytes(16, "big")
            span.span_id = ((number + 1) * 16 + slot).to_bytes(8, "big")
            span.name = f"step {slot}"
            span.start_time_unix_nano, span.end_time_unix_nano = now, now + 1_000_000
    return request


def send(agent: Collector, request: ExportTraceServiceRequest) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{agent.grpc_port}")
    TraceServiceStub(channel).Export(request, timeout=10)
    channel.close()


class Topology:
    def __init__(
        self,
        emulator: OpenObserveEmulator,
        start: Callable[..., Collector],
        certs: Path,
        gateway_settings: dict[str, str] | None = None,
    ) -> None:
        self.emulator = emulator
        self.certs = certs
        backend = {
            "OPENOBSERVE_URL": emulator.url,
            "OPENOBSERVE_ORG": "acme",
            "OPENOBSERVE_AUTH_TOKEN": emulator.auth_token,
            "COLLECTOR_GATEWAY_TOKEN": TOKEN,
            "COLLECTOR_TLS_CERT_FILE": str(certs / "gateway.pem"),
            "COLLECTOR_TLS_KEY_FILE": str(certs / "gateway.key"),
        }
        self.gateways = [
            start(
                {
                    **backend,
                    **(gateway_settings or {}),
                    "COLLECTOR_ROLE": "gateway",
                    "HOSTNAME": name,
                },
                name=name,
            )
            for name in ("gateway-1", "gateway-2")
        ]
        self.endpoints = ",".join(f"127.0.0.1:{g.grpc_port}" for g in self.gateways)
        self.start = start
        self.agents = [self.agent(name) for name in ("agent-1", "agent-2")]

    def agent(self, name: str, token: str = TOKEN) -> Collector:
        return self.start(
            {
                "COLLECTOR_GATEWAYS": self.endpoints,
                "COLLECTOR_GATEWAY_TOKEN": token,
                "COLLECTOR_TLS_CA_FILE": str(self.certs / "ca.pem"),
                "COLLECTOR_RETRY_MAX_INTERVAL_S": "2",
            },
            name=name,
        )

    def send_traces(self, numbers: range) -> None:
        """Half of every trace through each agent: affinity must not depend on the agent."""
        send(self.agents[0], trace_request(numbers, range(0, SPANS_PER_TRACE // 2)))
        send(self.agents[1], trace_request(numbers, range(SPANS_PER_TRACE // 2, SPANS_PER_TRACE)))

    def rows(self) -> list[dict[str, Any]]:
        return self.emulator.rows("default", org="acme")

    def wait_for_spans(self, count: int, timeout_s: float = 60) -> list[dict[str, Any]]:
        # Distinct spans: a gateway killed mid-export may deliver a batch twice (at least once).
        return wait_for(
            lambda: len({r["span_id"] for r in self.rows()}) >= count and self.rows(),
            timeout_s=timeout_s,
            interval_s=0.5,
            what=f"{count} spans through the gateways",
        )


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    """A test CA and a gateway certificate for 127.0.0.1 (trustme)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    gateway = ca.issue_cert("127.0.0.1", "localhost")
    gateway.private_key_pem.write_to_path(str(tmp_path / "gateway.key"))
    gateway.cert_chain_pems[0].write_to_path(str(tmp_path / "gateway.pem"))
    return tmp_path


@pytest.fixture
def topology(
    emulator: OpenObserveEmulator, start_collector: Callable[..., Collector], certs: Path
) -> Topology:
    return Topology(emulator, start_collector, certs)


def gateways_by_trace(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        seen[row["trace_id"]].add(row["service_otelcol_gateway"])
    return seen


def test_every_trace_reaches_exactly_one_gateway(topology: Topology) -> None:
    topology.send_traces(range(40))
    rows = topology.wait_for_spans(40 * SPANS_PER_TRACE)
    assert len(rows) == 40 * SPANS_PER_TRACE
    seen = gateways_by_trace(rows)
    assert len(seen) == 40
    assert all(len(gateways) == 1 for gateways in seen.values())
    # Both gateways took a share, and the gateways normalised and exported.
    assert {g for gateways in seen.values() for g in gateways} == {"gateway-1", "gateway-2"}


def queued_in(agent: Collector) -> float:
    return collector_metric(
        agent.metrics_port, "otelcol_exporter_queue_size", {"exporter": "loadbalancing/gateways"}
    )


def test_a_gateway_killed_mid_run_loses_nothing(topology: Topology) -> None:
    topology.send_traces(range(0, 20))
    topology.wait_for_spans(20 * SPANS_PER_TRACE)
    killed = topology.gateways[1]
    killed.stop(signal.SIGKILL)
    topology.send_traces(range(20, 60))  # half of these hash to the dead gateway
    # The dead gateway's share waits in the agents' persistent queues.
    wait_for(
        lambda: sum(queued_in(agent) for agent in topology.agents) > 0,
        timeout_s=30,
        what="the agents' queues holding the dead gateway's share",
    )
    killed.start()
    rows = topology.wait_for_spans(60 * SPANS_PER_TRACE, timeout_s=90)
    span_ids = [row["span_id"] for row in rows]
    assert len(set(span_ids)) == 60 * SPANS_PER_TRACE  # nothing lost
    assert all(len(g) == 1 for g in gateways_by_trace(rows).values())


def test_an_agent_with_the_wrong_token_is_rejected(topology: Topology) -> None:
    intruder = topology.agent("intruder", token="not-the-shared-token-at-all")
    send(intruder, trace_request(range(100, 110), range(SPANS_PER_TRACE)))

    def rejections() -> list[str]:
        return [line for line in intruder.log().splitlines() if "Unauthenticated" in line]

    wait_for(rejections, timeout_s=30, what="the gateways' Unauthenticated answers")
    assert topology.rows() == []


def test_under_metadata_content_never_leaves_the_agents_host(
    emulator: OpenObserveEmulator, start_collector: Callable[..., Collector], certs: Path
) -> None:
    """Agents under the default policy apply it before their queue: with the gateways down,
    no sentinel of a real app's conversation is in an agent's queue on disk; the gateways,
    which keep all content they receive (CONTENT_POLICY=full), store none; and each call was
    normalised on the agent (its billed cost read before the content went)."""
    topology = Topology(emulator, start_collector, certs, {"CONTENT_POLICY": "full"})
    for gateway in topology.gateways:
        gateway.stop()
    agent = topology.agents[0]
    answer = run_test_app("privacy_app", ["openinference-openai"], agent.otlp_grpc_endpoint)
    requests = answer["requests"]
    wait_for(lambda: queued_in(agent) > 0, timeout_s=30, what="spans queued on the agent")
    queue = b"".join(p.read_bytes() for p in (agent.workdir / "queue").rglob("*") if p.is_file())
    assert queue and [k for k, s in SENTINELS.items() if s.encode() in queue] == []
    for gateway in topology.gateways:
        gateway.start()
    rows = wait_for(
        lambda: (
            len([r for r in topology.rows() if r.get("gen_ai_provider_name")]) >= requests
            and topology.rows()
        ),
        timeout_s=60,
        what="the app's calls through the gateways",
    )
    text = json.dumps(rows)
    assert [kind for kind, sentinel in SENTINELS.items() if sentinel in text] == []
    calls = [r for r in rows if r.get("gen_ai_provider_name") == "openrouter"]
    assert len(calls) == requests
    assert {r["openrouter_cost_status"] for r in calls} == {"reported"}


def test_an_apps_logs_and_metrics_cross_agent_and_gateways(
    emulator: OpenObserveEmulator, start_collector: Callable[..., Collector], certs: Path
) -> None:
    """The app's log lines and metrics go agent -> gateways -> OpenObserve like its spans
    (logs by trace id, metrics by service), and each gateway reports its own health."""
    topology = Topology(emulator, start_collector, certs, {"COLLECTOR_TELEMETRY_INTERVAL_S": "1"})
    agent = topology.agents[0]
    run_test_app("telemetry_app", [], agent.otlp_grpc_endpoint)
    emulator = topology.emulator
    lines = wait_for(
        lambda: [r for r in emulator.log_rows("default", org="acme") if r.get("body") == LOG_LINE],
        timeout_s=30,
        what="the app's log line through the gateways",
    )
    assert len(lines) == 1
    points = wait_for(
        lambda: emulator.metric_rows(flatten_key(METRIC), org="acme"),
        timeout_s=30,
        what="the app's metric through the gateways",
    )
    assert [point["value"] for point in points] == [3.0]
    # Only gateways export with otlp_http/openobserve: both report their queue themselves.
    reporters = wait_for(
        lambda: (
            len(
                ids := {
                    row["service_instance_id"]
                    for row in emulator.metric_rows("otelcol_exporter_queue_size", org="acme")
                    if row["exporter"] == "otlp_http/openobserve"
                }
            )
            == 2
            and ids
        ),
        timeout_s=30,
        what="both gateways' own queue reports",
    )
    assert len(reporters) == 2
