"""Privacy that holds for any instrumentation: real packages, each recording one conversation
its own way (attributes, span events, a framework's own attribute names), through the real
collector. Under `metadata` none of the conversation's six kinds of content (system prompt,
user prompt, completion, reasoning, tool arguments, tool result) arrives anywhere in a row:
attributes, events, status or resource. Under `full` the same app's prompt does arrive, so
each package really recorded content and its spans really were stored."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from tests.harness import Collector, emulator_settings, run_test_app, wait_for
from tests.package_envs import frameworks_python, openlit_python, vercel_ai_dir
from tests.privacy_app import PACKAGES, REQUEST_SPAN, SENTINELS, USER

# Where each package runs: this checkout's environment, the frameworks', OpenLIT's, Node.
FRAMEWORKS = {"openinference-smolagents", "openinference-openai-agents", "pydantic-ai"}
MATRIX = [*PACKAGES, "vercel-ai"]


def run_package(package: str, collector: Collector) -> int:
    """The package's app against a fresh simulator; how many requests it made."""
    if package == "vercel-ai":
        with OpenRouterSimulator() as simulator:
            endpoint = f"http://127.0.0.1:{collector.http_port}"
            node = ["node", "app.mjs", simulator.base_url, endpoint, "privacy"]
            app = subprocess.run(
                node, cwd=vercel_ai_dir(), capture_output=True, text=True, timeout=120
            )
            assert app.returncode == 0, app.stderr
            return len(simulator.requests)
    python, endpoint = sys.executable, collector.otlp_grpc_endpoint
    if package in FRAMEWORKS:
        python = str(frameworks_python())
    elif package == "openlit":
        python, endpoint = str(openlit_python()), f"http://127.0.0.1:{collector.http_port}"
    home = str(collector.workdir)  # where a package may write its caches
    answer = run_test_app("privacy_app", [package], endpoint, python, HOME=home)
    return int(answer["requests"])


def stored_rows(package: str, workdir: Path, policy: str) -> tuple[list[dict[str, Any]], str]:
    """Every row the package's app left under `policy`, and the collector's log."""
    with OpenObserveEmulator() as emulator:
        settings = emulator_settings(emulator, CONTENT_POLICY=policy)
        collector = Collector(workdir, settings).start()
        try:
            requests = run_package(package, collector)
            # Every request a span at least (a framework adds its own): wait for them, then
            # for the rest of the export to land.
            wait_for(
                lambda: len(emulator.rows("llm_traces", org="acme")) >= requests,
                what=f"the {package} spans",
            )
            collector.stop()  # flushes what it holds
            return emulator.rows("llm_traces", org="acme"), collector.log()
        finally:
            collector.stop()


@pytest.fixture(scope="module", params=MATRIX)
def package_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, tuple[list[dict[str, Any]], str]]]]:
    package = request.param
    workdir = tmp_path_factory.mktemp(package)
    yield (
        package,
        {policy: stored_rows(package, workdir / policy, policy) for policy in ("metadata", "full")},
    )


def test_no_content_leaves_under_metadata(
    package_runs: tuple[str, dict[str, tuple[list[dict[str, Any]], str]]],
) -> None:
    package, runs = package_runs
    rows, _ = runs["metadata"]
    text = json.dumps(rows)
    leaked = {kind for kind, sentinel in SENTINELS.items() if sentinel in text}
    assert leaked == set(), f"{package}: {leaked} reached OpenObserve under metadata"


def test_the_row_says_what_the_allow_list_removed(
    package_runs: tuple[str, dict[str, tuple[list[dict[str, Any]], str]]],
) -> None:
    package, runs = package_runs
    rows, log = runs["metadata"]
    counted = [
        int(row["content_policy_removed_attributes"])
        for row in rows
        if row.get("content_policy_removed_attributes") is not None
    ]
    assert counted and max(counted) > 0, package
    assert "\twarn\t" not in log and "\terror\t" not in log


def test_the_same_app_records_content(
    package_runs: tuple[str, dict[str, tuple[list[dict[str, Any]], str]]],
) -> None:
    """The counterpart: under `full`, the prompt arrives, so the metadata test above saw
    spans that carried content."""
    package, runs = package_runs
    rows, _ = runs["full"]
    assert USER in json.dumps(rows), package
    assert not any("content_policy_removed_attributes" in row for row in rows)


def test_spans_that_are_not_genai_keep_their_attributes(
    package_runs: tuple[str, dict[str, tuple[list[dict[str, Any]], str]]],
) -> None:
    """The app's own request span (not a GenAI span) arrives whole under `metadata`."""
    package, runs = package_runs
    rows, _ = runs["metadata"]
    (request,) = [row for row in rows if row["operation_name"] == REQUEST_SPAN]
    assert request["http_route"] == "/chat" and request["app_tenant"] == "acme", package
    assert "content_policy_removed_attributes" not in request
