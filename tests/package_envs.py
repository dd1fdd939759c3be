"""The environments the tests run real packages in, each built once and cached in build/ by
a fingerprint of what it installs: OpenLIT's (it needs openai < 3), the agent frameworks'
(their own dependency trees), and the Vercel AI SDK's Node app."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.harness import ROOT, built_once, new_virtualenv

# OpenLIT 1.45.0 needs openai < 3 and OpenTelemetry packages older than the lock's: pinned
# here, it resolves in seconds (unpinned, pip backtracks for minutes). This package goes in
# without its dependencies: the app imports only its client and the simulator.
OPENLIT_PINS = [
    "openlit==1.45.0",
    "openai==2.8.0",
    "opentelemetry-api==1.39.1",
    "opentelemetry-sdk==1.39.1",
    "opentelemetry-exporter-otlp==1.39.1",
    "opentelemetry-exporter-otlp-proto-grpc==1.39.1",
    "opentelemetry-exporter-otlp-proto-http==1.39.1",
    "opentelemetry-exporter-otlp-proto-common==1.39.1",
    "opentelemetry-proto==1.39.1",
    "opentelemetry-instrumentation==0.60b1",
    "opentelemetry-semantic-conventions==0.60b1",
]


def openlit_python() -> Path:
    """A virtualenv with OpenLIT and this checkout (editable), built once, cached in build/."""
    venv = ROOT / "build" / "venv-openlit"

    def build() -> None:
        install = [str(new_virtualenv(venv)), "-m", "pip", "install", "--quiet"]
        subprocess.run([*install, *OPENLIT_PINS], check=True, timeout=900)
        subprocess.run([*install, "--no-deps", "-e", str(ROOT)], check=True, timeout=300)

    built_once(venv, " ".join(OPENLIT_PINS), build)
    return venv / "bin" / "python"


VERCEL_AI_APP = ROOT / "tests" / "vercel_ai"


def vercel_ai_dir() -> Path:
    """The Vercel AI SDK app with its locked npm packages, installed once, cached in build/."""
    app_dir = ROOT / "build" / "vercel-ai"
    app_dir.mkdir(parents=True, exist_ok=True)
    for name in ("app.mjs", "package.json", "package-lock.json"):
        shutil.copy(VERCEL_AI_APP / name, app_dir / name)
    npm = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
    lock = (VERCEL_AI_APP / "package-lock.json").read_text()
    return built_once(
        app_dir,
        lock,
        lambda: subprocess.run(npm, cwd=app_dir, check=True, capture_output=True, timeout=600),
    )


# Agent frameworks on top of the OpenAI client, each with its OpenInference instrumentor
# where it has one (Pydantic AI records spans itself): pydantic-ai-slim[openai] 2.68.0,
# smolagents 1.26.0, openai-agents 0.24.0 and their instrumentors, as locked in
# tests/frameworks.lock.
def frameworks_python() -> Path:
    """A virtualenv with the frameworks (every version locked in tests/frameworks.lock: they
    need a newer openai than the project's lock) and this checkout without its dependencies,
    built once, cached in build/."""
    venv = ROOT / "build" / "venv-frameworks"
    lock = ROOT / "tests" / "frameworks.lock"

    def build() -> None:
        install = [str(new_virtualenv(venv)), "-m", "pip", "install", "--quiet"]
        subprocess.run([*install, "-r", str(lock)], check=True, timeout=900)
        subprocess.run([*install, "--no-deps", "-e", str(ROOT)], check=True, timeout=300)

    built_once(venv, lock.read_text(), build)
    return venv / "bin" / "python"
