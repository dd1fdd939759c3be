"""Helpers for the integration tests: the app as its own process, and the collector."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openrouter_openobserve.collector_process import (
    COLLECTOR_BINARY,
    Collector,
    free_port,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
__all__ = [
    "COLLECTOR_BINARY",
    "ROOT",
    "Collector",
    "child_env",
    "create_org",
    "env_references",
    "free_port",
    "run_app",
    "run_test_app",
    "wait_for",
]


def env_references(config: str) -> set[str]:
    """The environment variables a collector config reads with no default (`${env:NAME}`;
    `${env:NAME:-default}` has one): each must reach the container that runs it."""
    return set(re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", config))


def child_env(**extra: Any) -> dict[str, str]:
    """The environment of a child Python process of the tests: PATH, this checkout, `extra`."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        **{key: str(value) for key, value in extra.items()},
    }


def emulator_settings(emulator: Any, **extra: str) -> dict[str, str]:
    """.env values that point at `emulator` (org `acme`, stream `llm_traces`), plus `extra`:
    the collector ingests with the passcode, the API tools use the password."""
    return {
        "OPENOBSERVE_URL": emulator.url,
        "OPENOBSERVE_ORG": "acme",
        "OPENOBSERVE_AUTH_TOKEN": emulator.ingest_token,
        "OPENOBSERVE_API_TOKEN": emulator.auth_token,
        "OPENOBSERVE_STREAM": "llm_traces",
        **extra,
    }


def create_org(emulator: Any, org: str) -> None:
    """Create `org` the way OpenObserve does: the root user's first ingestion into it."""
    request = urllib.request.Request(
        f"{emulator.url}/api/{org}/v1/traces",
        data=b"",
        headers={"Authorization": emulator.auth_token, "Content-Type": "application/x-protobuf"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def built_once(directory: Path, key: str, build: Callable[[], object]) -> Path:
    """`directory`, made by `build` unless it was last made from the same `key` (what it
    depends on): the environments the tests make once and reuse, like the collector."""
    stamp = directory / ".stamp"
    fingerprint = hashlib.sha256(key.encode()).hexdigest()
    if not (stamp.is_file() and stamp.read_text() == fingerprint):
        build()
        stamp.write_text(fingerprint)
    return directory


def new_virtualenv(directory: Path) -> Path:
    """An empty virtualenv at `directory` (replacing what was there); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(directory)], check=True)
    return directory / "bin" / "python"


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    """A .env as a user writes one: every value single-quoted, so a shell reads it alike."""
    path.write_text("".join(f"{key}='{value}'\n" for key, value in values.items()))
    return path


def run_test_app(
    module: str, args: list[str], endpoint: str, python: str = sys.executable, **env: Any
) -> Any:
    """Run one of the tests' apps (`python -m tests.MODULE ARGS`, in the environment of
    `python`) exporting to `endpoint`; what it printed last, as JSON."""
    result = subprocess.run(
        [python, "-m", f"tests.{module}", *args],
        capture_output=True,
        text=True,
        env=child_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **env),
        cwd=ROOT,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def run_app(
    args: list[str], env: dict[str, Any], timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `python -m app ARGS` as its own process, as a user's service would run."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=child_env(**env),
        cwd=ROOT,
        timeout=timeout_s,
    )


class ScenarioRun:
    """The rows one `tests.scenarios` process left in OpenObserve, grouped by scenario."""

    def __init__(self, rows: list[dict[str, Any]], answers: dict[str, list[Any]]) -> None:
        self.rows = rows
        self.answers = answers
        parents = {row["span_id"]: row["operation_name"] for row in rows}
        self._by_scenario: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            scenario = parents.get(row.get("reference_parent_span_id", ""), "").removeprefix(
                "scenario "
            )
            if row.get("openinference_span_kind") == "LLM":
                self._by_scenario.setdefault(scenario, []).append(row)

    def responses(self) -> list[tuple[str, dict[str, Any]]]:
        """(requested model, response) of every call the simulator answered: the error JSON
        of a failed call, the last chunk (which carries the usage) of a stream."""
        answered = []
        for answers in self.answers.values():
            for answer in answers:
                response = answer["response"]
                answered.append(
                    (answer["model"], response[-1] if isinstance(response, list) else response)
                )
        return answered

    def call_rows(self) -> list[dict[str, Any]]:
        """The rows of every OpenRouter call (the counted ones), whatever the scenario."""
        return [row for row in self.rows if row.get("gen_ai_provider_name") == "openrouter"]

    def llm_rows(self, scenario: str) -> list[dict[str, Any]]:
        return sorted(self._by_scenario.get(scenario, []), key=lambda row: row["start_time"])

    def llm_row(self, scenario: str) -> dict[str, Any]:
        rows = self.llm_rows(scenario)
        assert len(rows) == 1, f"{scenario}: expected one LLM span, got {len(rows)}"
        return rows[0]


def scenarios_process(endpoint: str, names: list[str], env: dict[str, str] | None = None) -> Any:
    """Run `python -m tests.scenarios NAMES` against a collector; returns its answers."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.scenarios", *names],
        capture_output=True,
        text=True,
        env=child_env(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **(env or {})),
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_scenarios(
    emulator: Any, collector: Collector, names: list[str], env: dict[str, str] | None = None
) -> ScenarioRun:
    """Run the scenarios app against `collector` and wait until all its spans are stored."""
    answers = scenarios_process(collector.otlp_grpc_endpoint, names, env)
    # A parent span per scenario, and an LLM span per request (a timed-out one included).
    expected = sum(1 + max(1, len(answers[name])) for name in names)
    rows = wait_for(
        lambda: (
            (r := emulator.rows(collector.env.get("OPENOBSERVE_STREAM", "default")))
            and len(r) >= expected
            and r
        ),
        what=f"{expected} spans of the scenarios",
    )
    return ScenarioRun(rows, answers)
