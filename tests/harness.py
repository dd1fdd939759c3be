"""Helpers for the integration tests: the app as its own process, and the collector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from scripts.collector_process import COLLECTOR_BINARY, Collector, free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
__all__ = ["COLLECTOR_BINARY", "ROOT", "Collector", "free_port", "run_app", "wait_for"]


def run_app(
    args: list[str], env: dict[str, Any], timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `python -m app ARGS` as its own process, as a user's service would run."""
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        **{k: str(v) for k, v in env.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=timeout_s,
    )
