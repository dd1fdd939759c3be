"""Normal traffic, failed calls and streams included, leaves no `warn` or `error` line in the
collector's log: the lines that matter are not drowned. Every OTTL path that can be absent is
guarded, and every component goes by its current name."""

from __future__ import annotations

from pathlib import Path

import pytest

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import Collector, emulator_settings, run_scenarios

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
        env = emulator_settings(emulator, CONTENT_POLICY=policy)
        collector = Collector(tmp_path / "collector", env).start()
        try:
            run = run_scenarios(emulator, collector, MIXED)
        finally:
            collector.stop()
    assert len(run.call_rows()) >= len(MIXED)
    noisy = [
        line for line in collector.log().splitlines() if "\twarn\t" in line or "\terror\t" in line
    ]
    assert noisy == []
