"""Normal traffic, failed calls and streams included, leaves no `warn` or `error` line in the
collector's log: the lines that matter are not drowned. Every OTTL path that can be absent is
guarded, and every component goes by its current name."""

from __future__ import annotations

from pathlib import Path

import pytest

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import Collector, emulator_settings, run_scenarios, run_test_app, wait_for

MIXED = [
    "chat",
    "stream",
    "tool_call",
    "reasoning",
    "cached_prompt",
    "free_model",
    "byok",
    "error_429",
    "error_503",
    "mid_stream_error",
    "timeout",
    "secrets",
]


@pytest.mark.parametrize("policy", ["metadata", "full"])
def test_a_mixed_workload_logs_no_warning(tmp_path: Path, policy: str) -> None:
    with OpenObserveEmulator() as emulator:
        # Reports of its own every second, so that path runs too.
        env = emulator_settings(emulator, CONTENT_POLICY=policy, COLLECTOR_TELEMETRY_INTERVAL_S="1")
        collector = Collector(tmp_path / "collector", env).start()
        try:
            run = run_scenarios(emulator, collector, MIXED)
            # An app's logs (GenAI events among them) and metrics, and the collector's own.
            run_test_app("telemetry_app", [], collector.otlp_grpc_endpoint)
            wait_for(
                lambda: emulator.log_rows("default") and emulator.metric_rows("shop_orders"),
                what="the app's logs and metric",
            )
            wait_for(
                lambda: emulator.metric_rows("otelcol_exporter_queue_size"),
                what="the collector's own metrics",
            )
        finally:
            collector.stop()
    assert len(run.call_rows()) >= len(MIXED)
    noisy = [
        line for line in collector.log().splitlines() if "\twarn\t" in line or "\terror\t" in line
    ]
    assert noisy == []
