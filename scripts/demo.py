"""The no-Docker demo: simulator -> instrumented app -> real collector -> backend, read back.

Sends to OPENOBSERVE_URL from .env when one is set there (or in the environment);
otherwise to a local ingest sink (the OpenObserve emulator). Runs `compare` over
three models, then prints what landed in the backend, read through OpenObserve's
search API: the spans, the per-model summary `report` prints, and the app's own log lines
and answers metric; then stops everything it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from openrouter_openobserve import report
from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.collector_process import Collector, wait_for
from openrouter_openobserve.openobserve_api import OpenObserve, OpenObserveError, not_there_yet
from openrouter_openobserve.table import format_table

ROOT = Path(__file__).resolve().parents[1]
MODELS = "openai/gpt-4o-mini,anthropic/claude-3.5-haiku,meta-llama/llama-3.1-8b-instruct"
SERVICE = "openrouter-demo"
ANSWERS = "app_answers"  # OpenObserve's stream of the app's app.answers metric
SHOWN_COLUMNS = (
    "llm_model_name",
    "gen_ai_response_model",
    "openrouter_provider",
    "llm_token_count_prompt",
    "llm_token_count_completion",
    "gen_ai_usage_cost",
    "duration",
    "span_status",
)


def backend_env(env_file: Path, sink_choice: str) -> tuple[dict[str, str], Any]:
    """The .env for the collector, and the local sink when one is asked for (`--sink local`,
    or `--sink auto` with no OPENOBSERVE_URL configured)."""
    raw = settings_mod.read_env(env_file if env_file.is_file() else None)
    if sink_choice == "openobserve" or (sink_choice == "auto" and raw.get("OPENOBSERVE_URL")):
        return raw, None
    from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator

    sink = OpenObserveEmulator().start()
    click.echo(f"sending to a local ingest sink (the OpenObserve emulator) at {sink.url}")
    return {
        **raw,
        "OPENOBSERVE_URL": sink.url,
        "OPENOBSERVE_ORG": "default",
        "OPENOBSERVE_AUTH_TOKEN": sink.ingest_token,  # an ingestion passcode, as in production
        "OPENOBSERVE_API_TOKEN": sink.auth_token,
    }, sink


def format_rows(rows: list[dict[str, Any]]) -> str:
    return format_table(SHOWN_COLUMNS, [[r.get(c, "-") for c in SHOWN_COLUMNS] for r in rows])


@click.command()
@click.option(
    "--env-file", type=click.Path(path_type=Path), default=Path(".env"), show_default=True
)
@click.option("--prompt", default="In one sentence: why observe LLM calls?", show_default=True)
@click.option("--models", default=MODELS, show_default=True)
@click.option(
    "--sink",
    "sink_choice",
    type=click.Choice(["auto", "local", "openobserve"]),
    default="auto",
    show_default=True,
    help="local: the bundled OpenObserve emulator; openobserve: OPENOBSERVE_URL from .env; "
    "auto: OPENOBSERVE_URL when .env sets one, else local (and it says so).",
)
def main(env_file: Path, prompt: str, models: str, sink_choice: str) -> None:
    """Run the whole pipeline locally and print what reached the backend. The app always
    talks to the bundled OpenRouter simulator: its spans are marked openrouter.simulated."""
    env, sink = backend_env(env_file, sink_choice)
    try:
        settings = settings_mod.validate(env)
    except settings_mod.SettingsError as error:
        raise click.ClickException(str(error)) from None
    workdir = ROOT / "build" / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    collector = Collector(workdir, {k: str(v) for k, v in env.items()})
    started_us = int(time.time() * 1e6)
    try:
        collector.start()
        click.echo(f"collector up (OTLP gRPC {collector.otlp_grpc_endpoint})\n")
        run_compare(prompt, models, collector.otlp_grpc_endpoint)
        openobserve = backend(settings)
        rows = wait_for(
            lambda: read_back(openobserve, settings, started_us, expected=len(models.split(","))),
            timeout_s=30,
            what="the demo's spans in the backend",
        )
        stream = settings["OPENOBSERVE_STREAM"]
        click.echo(f"\nlanded in OpenObserve, stream '{stream}' (read back via the search API):")
        click.echo(format_rows(rows))
        now_us = int(time.time() * 1e6) + 1
        summary = report.fetch(openobserve, stream, started_us, now_us, include_simulated=True)
        click.echo("\nper model and provider (what `report --include-simulated` prints):")
        click.echo(report.render(summary, "table"))
        show_app_logs_and_metric(openobserve, settings, started_us, len(models.split(",")))
    finally:
        collector.stop()
        if sink is not None:
            sink.stop()


def run_compare(prompt: str, models: str, endpoint: str) -> None:
    environ = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": SERVICE}
    subprocess.run(
        [sys.executable, "-m", "app", "compare", prompt, "--models", models, "--offline"],
        check=True,
        env=environ,
        cwd=ROOT,
        timeout=120,
    )


def show_app_logs_and_metric(
    openobserve: OpenObserve, settings: dict[str, Any], since_us: int, expected: int
) -> None:
    """The app's own log lines and its answers counter, which travelled the same pipeline."""
    stream = settings["OPENOBSERVE_LOGS_STREAM"]
    logs_sql = (
        f'SELECT severity, body FROM "{stream}" '
        f"WHERE service_name = '{SERVICE}' ORDER BY _timestamp"
    )
    show(
        openobserve,
        f"the app's own log lines, log stream '{stream}'",
        logs_sql,
        "logs",
        since_us,
        expected,
    )
    metric_sql = (
        f'SELECT gen_ai_request_model AS model, outcome, MAX(value) AS answers FROM "{ANSWERS}" '
        f"WHERE service_name = '{SERVICE}' GROUP BY model, outcome ORDER BY model"
    )
    show(
        openobserve,
        f"its metric app.answers, metric stream '{ANSWERS}'",
        metric_sql,
        "metrics",
        since_us,
        expected,
    )


def show(
    openobserve: OpenObserve,
    title: str,
    sql: str,
    stream_type: str,
    since_us: int,
    expected: int,
) -> None:
    """Print the hits of `sql` as a table, once there are `expected` of them."""
    rows = wait_for(
        lambda: at_least(expected, search(openobserve, sql, since_us, stream_type)),
        timeout_s=30,
        what=f"{title} in the backend",
    )
    click.echo(f"\n{title}:")
    click.echo(format_table(list(rows[0]), [list(row.values()) for row in rows]))


def search(
    openobserve: OpenObserve, sql: str, since_us: int, stream_type: str
) -> list[dict[str, Any]]:
    """The hits, or none while the stream does not exist yet (it appears with its first row)."""
    try:
        return openobserve.search(sql, since_us, int(time.time() * 1e6) + 1, stream_type)
    except OpenObserveError as error:
        if not not_there_yet(error):
            raise
        return []


def at_least(count: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows if len(rows) >= count else []


def backend(settings: dict[str, Any]) -> OpenObserve:
    """The backend's API, with the API credential (OPENOBSERVE_API_TOKEN, else the
    ingestion one)."""
    return OpenObserve.from_settings(settings)


def read_back(
    openobserve: OpenObserve, settings: dict[str, Any], since_us: int, expected: int
) -> list[dict[str, Any]]:
    sql = (
        f'SELECT * FROM "{settings["OPENOBSERVE_STREAM"]}" '
        f"WHERE service_name = '{SERVICE}' AND llm_model_name IS NOT NULL"
    )
    return at_least(expected, search(openobserve, sql, since_us, "traces"))


if __name__ == "__main__":
    main()
