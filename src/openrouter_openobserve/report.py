"""`report`: one row per requested model and upstream provider (or per user, session or
service: `--by`), from OpenObserve.

Requests, error rate, p50/p95 latency, time to first token, tokens and billed spend over a
time window, read with OpenObserve's search API from the span stream. Spend sums only costs
OpenRouter reported (`openrouter_cost_status` `reported`, or `reported_zero` for $0) and
those `reconcile` took from OpenRouter's ledger (`reconciled`); `untraced` is what the
ledger billed beyond the traced calls, apart:
OpenObserve writes its own estimate into `gen_ai_usage_cost` where none was reported, and its
0 tokens on failed calls, so tokens are summed over successful calls. The simulator's calls
(`openrouter_cost_status` `simulated`) are counted apart and never as spend, unless
`--include-simulated` says so. Columns a stream has never had (no stream yet, say, so no time
to first token) read as empty, not as errors.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from openrouter_openobserve import render_config
from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.openobserve_api import OpenObserve, OpenObserveError
from openrouter_openobserve.table import format_table

EXIT_FAILED, EXIT_INVALID = 1, 2
DURATION = re.compile(r"^(?P<amount>[0-9]{1,6})(?P<unit>[smhd])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Columns the query reads beyond OpenObserve's built-ins, with their SQL type.
OPTIONAL_COLUMNS = {
    "gen_ai_request_model": "VARCHAR",
    "llm_model_name": "VARCHAR",
    "openrouter_provider": "VARCHAR",
    "gen_ai_response_time_to_first_chunk": "DOUBLE",
    "gen_ai_usage_input_tokens": "BIGINT",
    "gen_ai_usage_output_tokens": "BIGINT",
    "gen_ai_usage_cost": "DOUBLE",
    "openrouter_cost_status": "VARCHAR",
    "user_id": "VARCHAR",
    "gen_ai_conversation_id": "VARCHAR",
    "service_name": "VARCHAR",
}
# --by: the columns a row stands for, each (name, SQL expression).
GROUPINGS = {
    "model": (
        ("model", "COALESCE({gen_ai_request_model}, {llm_model_name})"),
        ("provider", "{openrouter_provider}"),
    ),
    "user": (("user", "{user_id}"),),
    "session": (("session", "{gen_ai_conversation_id}"),),
    "service": (("service", "{service_name}"),),
}
# A call is a row OpenRouter's provider name marks; the ledger spans `reconcile` writes
# (`reconciled`, `untraced`) add spend to the call's group but count as no request.
CALL = "gen_ai_provider_name = 'openrouter'"
REPORT_SQL = """
SELECT {keys},
       SUM(CASE WHEN {call} THEN 1 ELSE 0 END) AS requests,
       SUM(CASE WHEN span_status = 'ERROR' THEN 1 ELSE 0 END) AS errors,
       approx_percentile_cont(CASE WHEN {call} THEN duration END, 0.5) / 1000.0 AS p50_ms,
       approx_percentile_cont(CASE WHEN {call} THEN duration END, 0.95) / 1000.0 AS p95_ms,
       approx_percentile_cont({gen_ai_response_time_to_first_chunk}, 0.5) AS ttft_p50_s,
       SUM(CASE WHEN {call} AND span_status != 'ERROR' THEN {gen_ai_usage_input_tokens} END)
           AS input_tokens,
       SUM(CASE WHEN {call} AND span_status != 'ERROR' THEN {gen_ai_usage_output_tokens} END)
           AS output_tokens,
       SUM(CASE WHEN {openrouter_cost_status} IN ({spend_statuses}) THEN {gen_ai_usage_cost}
                WHEN {openrouter_cost_status} = 'reported_zero' THEN 0.0 END) AS spend_usd,
       SUM(CASE WHEN {openrouter_cost_status} = 'reconciled' THEN {gen_ai_usage_cost} END)
           AS reconciled_usd,
       SUM(CASE WHEN {openrouter_cost_status} = 'untraced' THEN {gen_ai_usage_cost} END)
           AS untraced_usd,
       SUM(CASE WHEN {call} AND span_status != 'ERROR'
                 AND {openrouter_cost_status} IN ('not_reported', 'not_recorded') THEN 1
                WHEN {openrouter_cost_status} = 'reconciled' THEN -1 ELSE 0 END) AS unpriced,
       SUM(CASE WHEN {openrouter_cost_status} = 'lost_in_app' THEN 1 ELSE 0 END) AS lost_in_app,
       SUM(CASE WHEN {openrouter_cost_status} = 'simulated' THEN 1 ELSE 0 END) AS simulated
FROM "{stream}"
WHERE {call} OR {openrouter_cost_status} IN ('reconciled', 'untraced')
GROUP BY {group_by}
ORDER BY spend_usd DESC NULLS LAST, requests DESC, {first}
"""
METRIC_COLUMNS = (
    ("requests", "requests", "{:d}"),
    ("errors", "errors", "{:d}"),
    ("error_rate", "error %", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.0f}"),
    ("p95_ms", "p95 ms", "{:.0f}"),
    ("ttft_p50_s", "TTFT p50 s", "{:.3f}"),
    ("input_tokens", "tokens in", "{:d}"),
    ("output_tokens", "tokens out", "{:d}"),
    ("spend_usd", "spend USD", "{:.8f}"),
    ("reconciled_usd", "reconciled USD", "{:.8f}"),
    ("untraced_usd", "untraced USD", "{:.8f}"),
    ("unpriced", "no cost", "{:d}"),
    ("lost_in_app", "lost in app", "{:d}"),
    ("simulated", "simulated", "{:d}"),
)
# What to do about calls whose response the app's SDK dropped before export.
LOST_IN_APP_FIX = (
    "{n} call(s) lost their response JSON in the app (the SDK's attribute limit evicted it, "
    "so cost, provider and served model are unknown): raise OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT "
    "in that app (65536 is what setup_tracing uses), or set it up with "
    "openrouter_openobserve.tracing.setup_tracing"
)


def parse_when(text: str, now_s: float) -> int:
    """`24h`-style durations ago, `now`, or an ISO-8601 time; microseconds since the epoch."""
    if text == "now":
        return int(now_s * 1e6)
    if match := DURATION.match(text):
        return int((now_s - int(match["amount"]) * UNIT_S[match["unit"]]) * 1e6)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r}: expected a duration ago (90m, 24h, 7d), 'now' or an ISO-8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1e6)


def columns_of(by: str) -> tuple[tuple[str, str, Any], ...]:
    """The report's columns: what a row stands for, then the figures."""
    return tuple((name, name, str) for name, _ in GROUPINGS[by]) + METRIC_COLUMNS


def report_sql(
    stream: str, present: set[str], by: str = "model", include_simulated: bool = False
) -> str:
    """The report query grouped `by`, with columns the stream lacks read as typed NULLs;
    spend counts the simulator's calls only when `include_simulated`."""
    columns = {
        name: (f"CAST({name} AS {kind})" if name in present else f"CAST(NULL AS {kind})")
        for name, kind in OPTIONAL_COLUMNS.items()
    }
    keys = [(name, expression.format(**columns)) for name, expression in GROUPINGS[by]]
    return REPORT_SQL.format(
        stream=stream,
        keys=", ".join(f"{expression} AS {name}" for name, expression in keys),
        group_by=", ".join(expression for _, expression in keys),
        first=keys[0][0],
        call=CALL,
        spend_statuses=", ".join(
            ["'reported'", "'reconciled'"] + (["'simulated'"] if include_simulated else [])
        ),
        **columns,
    )


def stream_columns(openobserve: OpenObserve, stream: str) -> set[str] | None:
    """The stream's column names, or None when the stream (or the org) has no data yet."""
    try:
        answer = openobserve.stream_schema(stream)
    except OpenObserveError as error:
        if error.status == 404:
            return None
        raise
    return {field["name"] for field in answer.get("schema", [])}


def fetch(
    openobserve: OpenObserve,
    stream: str,
    start_us: int,
    end_us: int,
    by: str = "model",
    include_simulated: bool = False,
) -> list[dict]:
    present = stream_columns(openobserve, stream)
    if present is None or "gen_ai_provider_name" not in present:
        return []
    sql = report_sql(stream, present, by, include_simulated)
    rows = openobserve.search(sql, start_us, end_us)
    for row in rows:
        row["error_rate"] = 100.0 * row["errors"] / row["requests"] if row["requests"] else None
    return rows


def render(rows: list[dict[str, Any]], output_format: str, by: str = "model") -> str:
    columns = columns_of(by)
    keys = [key for key, _, _ in columns]
    if output_format == "json":
        return json.dumps([{key: row.get(key) for key in keys} for row in rows], indent=2)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, keys, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    table = [[_cell(row.get(key), shape) for key, _, shape in columns] for row in rows]
    return format_table([title for _, title, _ in columns], table)


def _cell(value: Any, shape: Any) -> str:
    if value is None:
        return "-"
    if shape is str:
        return str(value)
    return shape.format(int(value) if shape.endswith("d}") else float(value))


def _when(option: str, text: str, now_s: float) -> int:
    try:
        return parse_when(text, now_s)
    except ValueError as error:
        _fail(f"{option}: {error}", EXIT_INVALID)


def _fail(message: str, status: int) -> NoReturn:
    render_config.fail(message, "report", status)


def since_option(what: str) -> Callable[[Any], Any]:
    """`--since`, 24 hours ago by default; `reconcile` shares it."""
    return click.option(
        "--since",
        default="24h",
        show_default=True,
        help=f"{what}: a duration ago (90m, 24h, 7d) or an ISO-8601 time.",
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@render_config.env_file_option
@since_option("Start of the window")
@click.option("--until", default="now", show_default=True, help="End of the window, likewise.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table for people; csv or json for scripts and CI jobs.",
)
@click.option(
    "--by",
    type=click.Choice(list(GROUPINGS)),
    default="model",
    show_default=True,
    help="One row per model and upstream provider, per user, per session or per service.",
)
@click.option(
    "--include-simulated",
    is_flag=True,
    help="Count the simulator's calls (the demo's, `--offline`) in spend too.",
)
def main(
    env_file: Path, since: str, until: str, output_format: str, by: str, include_simulated: bool
) -> None:
    """Requests, errors, latency, time to first token, tokens and spend per model and
    upstream provider (or per user, session or service), read from OpenObserve."""
    now_s = time.time()
    start_us, end_us = _when("--since", since, now_s), _when("--until", until, now_s)
    if start_us >= end_us:
        _fail(f"--since: {since!r} is not before --until {until!r}", EXIT_INVALID)
    try:
        settings = settings_mod.load(env_file if env_file.is_file() else None)
        openobserve = OpenObserve.from_settings(settings)
    except settings_mod.SettingsError as error:
        _fail(str(error), EXIT_INVALID)
    stream = settings["OPENOBSERVE_STREAM"]
    try:
        rows = fetch(openobserve, stream, start_us, end_us, by, include_simulated)
    except OpenObserveError as error:
        _fail(str(error), EXIT_FAILED)
    if not rows and output_format == "table":
        click.echo(f"no LLM requests in stream '{stream}' between {since} and {until}", err=True)
        return
    click.echo(render(rows, output_format, by))
    if lost := sum(row.get("lost_in_app") or 0 for row in rows):
        click.echo(f"report: {LOST_IN_APP_FIX.format(n=lost)}", err=True)


if __name__ == "__main__":
    main()
