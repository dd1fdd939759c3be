"""Chaos tests: backend outages, collector crashes, bursts, a slow backend, no collector.

Each runs the real collector and a real app process (tests/load_app.py, the bundle's own
tracing setup) against the OpenObserve emulator, bounded in time, and counts spans by id:
sent by the app, stored by the backend. docs/reliability.md states what each proves.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from openrouter_openobserve.collector_process import Collector, PeakRss
from openrouter_openobserve.collector_process import collector_metric as read_collector_metric
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import ROOT, child_env, free_port, wait_for

MEMORY_BUDGET_MIB = 256
RESULTS = ROOT / "build" / "reliability-results.json"


@pytest.fixture
def backend() -> Iterator[OpenObserveEmulator]:
    with OpenObserveEmulator(ids_only=True) as running:
        yield running


@pytest.fixture
def chaos_collector(
    backend: OpenObserveEmulator, start_collector: Callable[..., Collector]
) -> Collector:
    return start_collector(
        {
            "OPENOBSERVE_URL": backend.url,
            "OPENOBSERVE_ORG": "acme",
            "OPENOBSERVE_AUTH_TOKEN": backend.auth_token,
            "COLLECTOR_MEMORY_LIMIT_MIB": str(MEMORY_BUDGET_MIB),
            # Retries back off to 5 s (30 s by default) so that the tests drain quickly.
            "COLLECTOR_RETRY_MAX_INTERVAL_S": "5",
        }
    )


class LoadApp:
    """tests/load_app.py as its own process."""

    def __init__(self, endpoint: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.load_app", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=child_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint),
        )
        self.started = time.monotonic()

    def at(self, seconds: float) -> None:
        """Sleep until `seconds` after the app started."""
        time.sleep(max(0.0, self.started + seconds - time.monotonic()))

    def result(self, timeout_s: float = 120) -> dict[str, Any]:
        stdout, stderr = self.process.communicate(timeout=timeout_s)
        assert self.process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
        return json.loads(stdout)


def stored_ids(backend: OpenObserveEmulator) -> list[str]:
    return [row["span_id"] for row in backend.rows("default", org="acme")]


def wait_until_stored(backend: OpenObserveEmulator, sent: list[str], timeout_s: float) -> None:
    wait_for(
        lambda: set(sent) <= set(stored_ids(backend)),
        timeout_s=timeout_s,
        interval_s=0.5,
        what=f"all {len(sent)} spans in the backend",
    )


def record(name: str, figures: dict[str, Any]) -> None:
    """Keep each chaos test's figures for docs/reliability.md."""
    RESULTS.parent.mkdir(exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = figures
    RESULTS.write_text(json.dumps(results, indent=2))


def account(backend: OpenObserveEmulator, sent: list[str]) -> dict[str, int]:
    counts = Counter(stored_ids(backend))
    return {
        "sent": len(sent),
        "stored": len(set(counts) & set(sent)),
        "duplicated": sum(n - 1 for n in counts.values()),
        "lost": len(set(sent) - set(counts)),
    }


# Retries back off to at most 5 s here: a 12 s outage spans several retries and batches,
# which is what a 60 s one would prove, in a fifth of the time.
OUTAGE_S = 12


# 503: OpenObserve unavailable; 500: a write that failed (the OTLP/HTTP exporter alone would
# drop the batch; retryable_status makes it retry).
@pytest.mark.parametrize("status", [503, 500])
def test_backend_outage_every_span_stored_exactly_once(
    backend: OpenObserveEmulator, chaos_collector: Collector, status: int
) -> None:
    app = LoadApp(chaos_collector.otlp_grpc_endpoint, "--rate", "20", "--seconds", "18")
    app.at(3)
    backend.fail(status, seconds=OUTAGE_S)
    outage_ended = time.monotonic() + OUTAGE_S
    report = app.result()
    assert report["errors"] == 0
    wait_until_stored(backend, report["span_ids"], timeout_s=60)
    drained_after = time.monotonic() - outage_ended
    figures = account(backend, report["span_ids"])
    record(
        f"{status} for {OUTAGE_S} s", {**figures, "drained_s_after_outage": round(drained_after, 1)}
    )
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert any(r.status == status for r in backend.requests)


def test_collector_sigkill_and_restart_during_an_outage_loses_nothing(
    backend: OpenObserveEmulator, chaos_collector: Collector
) -> None:
    app = LoadApp(chaos_collector.otlp_grpc_endpoint, "--rate", "20", "--seconds", "18")
    app.at(3)
    backend.fail(503, seconds=OUTAGE_S)
    app.at(9)
    chaos_collector.stop(signal.SIGKILL)
    chaos_collector.start()  # same ports, same queue directory
    report = app.result()
    assert report["errors"] == 0
    wait_until_stored(backend, report["span_ids"], timeout_s=60)
    figures = account(backend, report["span_ids"])
    record(f"503 for {OUTAGE_S} s, collector SIGKILLed and restarted at 9 s", figures)
    assert figures["lost"] == 0


def test_burst_of_ten_times_the_rate_stays_within_the_memory_budget(
    backend: OpenObserveEmulator, chaos_collector: Collector
) -> None:
    assert chaos_collector.process is not None
    with PeakRss(chaos_collector.process.pid) as rss:
        app = LoadApp(
            chaos_collector.otlp_grpc_endpoint,
            *("--rate", "50", "--seconds", "25"),
            *("--burst-at", "5", "--burst-seconds", "10", "--burst-factor", "10"),
        )
        report = app.result()
        wait_until_stored(backend, report["span_ids"], timeout_s=60)
    figures = account(backend, report["span_ids"])
    record(
        "burst: 50/s with 10 s at 500/s",
        {**figures, "peak_rss_mib": round(rss.peak), "slowest_app_span_s": report["slowest_s"]},
    )
    assert report["errors"] == 0
    assert figures["lost"] == 0
    assert rss.peak < MEMORY_BUDGET_MIB
    # Ending a span only enqueues it: the app is never held up by the pipeline.
    assert report["slowest_s"] < 0.5


def test_slow_backend_no_loss_and_bounded_memory(
    backend: OpenObserveEmulator, chaos_collector: Collector
) -> None:
    backend.slow(2.0)
    assert chaos_collector.process is not None
    with PeakRss(chaos_collector.process.pid) as rss:
        app = LoadApp(chaos_collector.otlp_grpc_endpoint, "--rate", "50", "--seconds", "20")
        report = app.result()
        wait_until_stored(backend, report["span_ids"], timeout_s=60)
    figures = account(backend, report["span_ids"])
    record("backend answering in 2 s", {**figures, "peak_rss_mib": round(rss.peak)})
    assert report["errors"] == 0
    assert figures["lost"] == 0
    assert rss.peak < MEMORY_BUDGET_MIB


def test_collector_down_the_app_never_raises_nor_blocks() -> None:
    """Real chat calls while nothing listens on the collector's port."""
    app = LoadApp(f"http://127.0.0.1:{free_port()}", "--calls", "--rate", "5", "--seconds", "8")
    report = app.result(timeout_s=60)
    record(
        "collector down, 40 chat calls",
        {"errors": report["errors"], "slowest_call_s": report["slowest_s"]},
    )
    assert report["errors"] == 0
    # A call is never held by telemetry: its wall time stays that of a local HTTP call.
    assert report["slowest_s"] < 1.0


def test_429_is_retried_without_loss(
    backend: OpenObserveEmulator, chaos_collector: Collector
) -> None:
    backend.fail(429, count=3)
    report = LoadApp(chaos_collector.otlp_grpc_endpoint, "--rate", "50", "--seconds", "3").result()
    wait_until_stored(backend, report["span_ids"], timeout_s=60)
    assert account(backend, report["span_ids"])["lost"] == 0
    assert [r.status for r in backend.requests][:3] == [429, 429, 429]


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_are_logged_loudly_for_every_batch(
    backend: OpenObserveEmulator, chaos_collector: Collector, status: int
) -> None:
    backend.fail(status)

    def error_lines() -> list[str]:
        lines = chaos_collector.log().splitlines()
        return [line for line in lines if "\terror\t" in line and str(status) in line]

    for batch in (1, 2):  # two batches: the second is sent once the first was refused
        LoadApp(chaos_collector.otlp_grpc_endpoint, "--rate", "20", "--seconds", "1").result()
        errors = wait_for(
            lambda n=batch: len(error_lines()) >= n and error_lines(),
            timeout_s=20,
            what=f"{batch} error line(s) about {status} in the collector log",
        )
    assert len(errors) >= 2
    assert stored_ids(backend) == []


def test_full_queue_refuses_new_spans_and_keeps_queued_ones(
    backend: OpenObserveEmulator, start_collector: Callable[..., Collector]
) -> None:
    """Beyond COLLECTOR_QUEUE_MAX_SPANS new spans are refused; none already queued is lost."""
    collector = start_collector(
        {
            "OPENOBSERVE_URL": backend.url,
            "OPENOBSERVE_ORG": "acme",
            "OPENOBSERVE_AUTH_TOKEN": backend.auth_token,
            "COLLECTOR_QUEUE_MAX_SPANS": "1000",
            "COLLECTOR_RETRY_MAX_INTERVAL_S": "2",
        },
        name="small-queue",
    )
    backend.fail(503, seconds=15)
    report = LoadApp(collector.otlp_grpc_endpoint, "--rate", "200", "--seconds", "10").result()
    assert report["errors"] == 0  # refusals reach the SDK's exporter, never the app's code
    accepted = collector_metric(collector, "otelcol_receiver_accepted_spans")
    refused = collector_metric(collector, "otelcol_receiver_refused_spans")
    wait_for(
        lambda: len(stored_ids(backend)) >= accepted,
        timeout_s=40,
        what=f"the {accepted:.0f} accepted spans in the backend",
    )
    figures = {**account(backend, report["span_ids"]), "accepted": accepted, "refused": refused}
    record("queue of 1,000 spans, 2,000 sent during a 15 s outage", figures)
    # Batches the exporter's consumers hold while retrying have left the queue, so a few
    # more than its capacity can be accepted; what matters is that the rest is refused.
    assert accepted < figures["sent"]
    assert refused > 0
    assert figures["stored"] == accepted  # every span the queue accepted, none evicted
    assert figures["duplicated"] == 0
    assert "sending queue is full" in collector.log().lower()


def collector_metric(collector: Collector, name: str) -> float:
    """Sum of one metric's series from the collector's own Prometheus endpoint."""
    return read_collector_metric(collector.metrics_port, name)
