"""Fixtures: the OpenObserve emulator, the OpenRouter simulator and real collectors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from openrouter_openobserve.testing import openobserve_genai as genai
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from openrouter_openobserve.testing.openrouter_simulator import OpenRouterSimulator
from tests.harness import Collector, ScenarioRun, emulator_settings, run_scenarios, wait_for


@pytest.fixture
def release() -> str:
    """The OpenObserve release the emulator reproduces; a module that must hold on every
    supported release overrides this with `every_release`."""
    return genai.LATEST.name


@pytest.fixture(params=list(genai.RELEASES))
def every_release(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def emulator(release: str) -> Iterator[OpenObserveEmulator]:
    with OpenObserveEmulator(release=release) as running:
        yield running


@pytest.fixture
def simulator() -> Iterator[OpenRouterSimulator]:
    with OpenRouterSimulator() as running:
        yield running


@pytest.fixture
def collector_env(emulator: OpenObserveEmulator) -> dict[str, str]:
    """A .env (as a dict) pointing the collector at the emulator."""
    return emulator_settings(emulator)


@pytest.fixture
def start_collector(tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    """Start real collectors from .env dicts; all are stopped after the test."""
    started: list[Collector] = []

    def start(env: dict[str, str], name: str = "collector", wait: bool = True) -> Collector:
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        collector = Collector(workdir, env)
        started.append(collector)
        return collector.start(wait=wait)

    yield start
    for collector in started:
        collector.stop()


@pytest.fixture
def collector(
    start_collector: Callable[..., Collector], collector_env: dict[str, str]
) -> Collector:
    return start_collector(collector_env)


# Known OpenRouter traffic through a real collector: successes, a stream, BYOK, a free
# model, cached prompts and two failures. Shared by the metrics, report and dashboard tests.
TRAFFIC = ["chat", "stream", "byok", "free_model", "cached_prompt", "error_429", "error_503"]


@pytest.fixture(scope="session")
def llm_traffic(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[OpenObserveEmulator, ScenarioRun]]:
    """The emulator after TRAFFIC went through a collector, spans and derived metrics in, and
    the collector's own reports (every second here)."""
    with OpenObserveEmulator() as emulator:
        env = emulator_settings(emulator, COLLECTOR_TELEMETRY_INTERVAL_S="1")
        collector = Collector(tmp_path_factory.mktemp("collector"), env).start()
        try:
            run = run_scenarios(emulator, collector, TRAFFIC)
            calls = len(run.call_rows())
            wait_for(
                lambda: (
                    sum(r["value"] for r in emulator.metric_rows("openrouter_requests")) >= calls
                ),
                what=f"{calls} requests counted in the openrouter_requests metric",
            )
            wait_for(
                lambda: emulator.metric_rows("otelcol_exporter_queue_size"),
                what="the collector's own queue reports",
            )
        finally:
            collector.stop()
        yield emulator, run
