"""The lowest openai that pyproject.toml allows produces the error text the collector parses
("Error code: 429 - {...}") and the response the normaliser reads: the scenarios app, run
with that openai in an environment of its own (built once, cached in build/), through the
real collector."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import (
    ROOT,
    Collector,
    ScenarioRun,
    built_once,
    child_env,
    emulator_settings,
    new_virtualenv,
    wait_for,
)
from tests.scenarios import PROMPT_SENTINEL

PYPROJECT = (ROOT / "pyproject.toml").read_text()
LOWEST_OPENAI = re.search(r'"openai>=([0-9.]+),', PYPROJECT)[1]  # type: ignore[index]


def lowest_openai_python() -> Path:
    """A virtualenv with the package, its locked dependencies, and openai at its lowest."""
    lock = (ROOT / "requirements.lock").read_text()
    venv = ROOT / "build" / "venv-openai-lowest"

    def build() -> None:
        python = new_virtualenv(venv)
        constraints = venv / "constraints.txt"
        constraints.write_text(
            "".join(line + "\n" for line in lock.splitlines() if not line.startswith("openai=="))
        )
        # Editable: the environment runs this checkout's code, whatever changed since.
        pins = ["-c", str(constraints), f"openai=={LOWEST_OPENAI}", "-e", str(ROOT)]
        install = [str(python), "-m", "pip", "install", "--quiet", *pins]
        subprocess.run(install, check=True, cwd=venv, timeout=900)

    built_once(venv, PYPROJECT + lock + LOWEST_OPENAI + "editable", build)
    return venv / "bin" / "python"


def test_the_lowest_openai_allowed_still_yields_the_contract(tmp_path: Path) -> None:
    python = lowest_openai_python()
    version = subprocess.run(
        [str(python), "-c", "import openai; print(openai.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == LOWEST_OPENAI
    with OpenObserveEmulator() as emulator:
        collector = Collector(tmp_path / "collector", emulator_settings(emulator)).start()
        try:
            run_lowest(python, collector, ["chat", "error_429", "error_403"])
            # The same refusal on a span the collector does not count as an OpenRouter call
            # (the resource says the app's framework spans are): the generic rule must
            # still keep the body out of status and exception.
            run_lowest(python, collector, ["error_403"], OTEL_RESOURCE_ATTRIBUTES=_FRAMEWORK)
            rows = wait_for(
                lambda: (r := emulator.rows("llm_traces", org="acme")) and len(r) >= 8 and r,
                what="the spans of the lowest openai",
            )
        finally:
            collector.stop()
    uncounted = [
        r
        for r in rows
        if r.get("openinference_span_kind") == "LLM" and "openrouter_cost_status" not in r
    ]
    assert [r["status_message"] for r in uncounted] == [
        "PermissionDeniedError: Error code: 403 - (error body removed)"
    ]
    run = ScenarioRun([r for r in rows if r not in uncounted], {})
    chat, failed = run.llm_row("chat"), run.llm_row("error_429")
    assert chat["openrouter_cost_status"] == "reported" and chat["openrouter_provider"]
    assert failed["http_response_status_code"] == "429"
    assert failed["error_type"] == "RateLimitError"
    assert failed["openrouter_error_message"] and "{" not in failed["openrouter_error_message"]
    # openai < 3 writes the whole error body into its exception text; a moderation refusal's
    # body quotes the prompt (error.metadata.flagged_input). Under the metadata policy no
    # prompt text may reach OpenObserve, from there or anywhere else.
    refused = run.llm_row("error_403")
    assert refused["openrouter_error_message"] == "Your input was flagged by moderation"
    assert refused["openrouter_error_provider_name"] == "Mistral"
    assert PROMPT_SENTINEL not in json.dumps(rows)


_FRAMEWORK = "openrouter.llm_spans=framework"


def run_lowest(python: Path, collector: Collector, names: list[str], **env: str) -> None:
    """Run the scenarios app with the lowest openai against `collector`."""
    result = subprocess.run(
        [str(python), "-m", "tests.scenarios", *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_grpc_endpoint, **env),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("package", ["openai", "opentelemetry-sdk", "click"])
def test_every_range_has_an_upper_bound(package: str) -> None:
    assert re.search(rf'"{package}>=[0-9.]+,<[0-9.]+"', PYPROJECT), package
