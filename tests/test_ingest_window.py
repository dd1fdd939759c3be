"""OpenObserve drops spans older than its ingest window (ZO_INGEST_ALLOWED_UPTO, 5 hours by
default) with a 200 partial success: an outage longer than that loses the oldest queued
spans. The collector logs each such answer, and `doctor` warns before the backlog gets there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.doctor import send_canary
from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_emulator import IngestWindow, OpenObserveEmulator
from tests.harness import Collector, emulator_settings, wait_for
from tests.test_doctor import doctor, fix_of, result_of
from tests.test_openobserve_emulator import post


@pytest.fixture
def release(every_release: str) -> str:
    """These tests run against every supported OpenObserve release."""
    return every_release


def test_spans_older_than_the_window_are_dropped_and_the_collector_says_so(
    start_collector, tmp_path: Path, release: str
) -> None:
    window = IngestWindow(past_hours=3 / 3600)  # a 3-second window stands for 5 hours
    with OpenObserveEmulator(ingest_window=window, release=release) as emulator:
        collector = start_collector(emulator_settings(emulator, COLLECTOR_RETRY_MAX_INTERVAL_S="1"))
        emulator.fail(503, seconds=5)  # an outage longer than the window
        send_canary("queued through the outage", settings_mod.validate(collector.env))
        wait_for(
            lambda: any(r.rejected for r in emulator.requests),
            timeout_s=30,
            what="OpenObserve's partial success",
        )
        assert emulator.rows("llm_traces", org="acme") == []
    collector.stop()
    assert "Partial success response" in collector.log()
    assert '"dropped_spans": 1' in collector.log()


def ingest_span(emulator: OpenObserveEmulator, age_h: float, span_id: int = 0) -> None:
    """One span that ended `age_h` hours ago, delivered now."""
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id = bytes(range(16)), bytes([span_id] * 8)
    span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns() - int(age_h * 3600e9)
    body = request.SerializeToString()
    assert post(emulator, body, stream="llm_traces", auth=emulator.ingest_token)[0] == 200


def backlog_check(emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path):
    emulator.fail(503)  # OpenObserve is down from here on
    send_canary("waiting in the queue", settings_mod.validate(collector.env))
    result = doctor(collector.env, tmp_path)
    return result_of(result.stdout, "collector backlog"), fix_of(result.stdout, "collector backlog")


def test_doctor_fails_when_the_backlog_nears_the_window(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path
) -> None:
    """The newest span OpenObserve has is 4.5 hours old and the collector holds more: its
    oldest queued spans are about to fall out of the 5-hour window."""
    ingest_span(emulator, 4.5)
    result, line = backlog_check(emulator, collector, tmp_path)
    assert result == "FAIL", line
    assert "spans arrive 4.5 h late" in line and "ZO_INGEST_ALLOWED_UPTO" in line


def test_doctor_reads_the_ingest_time_where_openobserve_writes_it(
    emulator: OpenObserveEmulator, collector: Collector, tmp_path: Path, release: str
) -> None:
    """One collector is current, another delivers a backlog 4.5 hours late: the newest span
    is fresh, so only the ingest time (`_o2_ingest_ts`, v0.92) shows how late spans arrive."""
    ingest_span(emulator, 4.5, span_id=1)
    ingest_span(emulator, 0.0, span_id=2)
    result, line = backlog_check(emulator, collector, tmp_path)
    if genai.RELEASES[release].ingest_ts:
        assert result == "FAIL" and "spans arrive 4.5 h late" in line, line
    else:  # v0.91.5: the estimate from the newest span
        assert result == "pass", line
