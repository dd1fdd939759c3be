"""`reconcile`: what OpenObserve shows against what OpenRouter billed.

Per call: a counted OpenRouter call whose billed cost the app did not record
(`openrouter_cost_status` `not_recorded`, `not_reported`) is looked up in OpenRouter's
ledger by its `gen-` id, and a *ledger span* goes to the collector beside it (same trace,
child of the call): `openrouter_cost_status` `reconciled`, the billed cost in
`gen_ai_usage_cost`, OpenRouter's own figures under `openrouter_ledger_*`. It carries the
call's model, provider, user, session and service, so it groups with the call, but no
`gen_ai_provider_name`, so no request count counts it. With `--verify` every call is looked
up; one that carried its cost gets a `verified` span, which no spend figure counts.

Per day (`--date`, with OPENROUTER_MANAGEMENT_KEY): OpenRouter's activity of a completed UTC
day per model against the day's traced calls and spend; what the ledger has beyond them is
*untraced* (calls no traced app made: a script, another service, a cron job on the key),
written once per day as `untraced` spans (the untraced dollars in `gen_ai_usage_cost`), which
no figure of traced spend counts.

`RECONCILE_STATE_FILE` keeps every answer until its span was delivered, so no id is looked
up twice and none is written twice, whatever fails between (the collector's queue keeps
what OpenObserve cannot take yet).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from openrouter_openobserve import render_config, report
from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.ledger_spans import RECONCILED, VERIFIED, ledger_span, untraced_span
from openrouter_openobserve.openobserve_api import OpenObserve, OpenObserveError
from openrouter_openobserve.openrouter_api import OpenRouterError, OpenRouterLedger
from openrouter_openobserve.table import format_table

EXIT_FAILED, EXIT_INVALID, EXIT_UNRECONCILED = 1, 2, 3
UNPRICED = ("not_recorded", "not_reported")
PRICED = ("reported", "reported_zero")
CALLS_PER_RUN = 1000
CALL_COLUMNS = {  # call row column: (SQL type, the ledger span attribute it is copied to)
    "gen_ai_request_model": ("VARCHAR", "gen_ai.request.model"),
    "openrouter_provider": ("VARCHAR", "openrouter.provider"),
    "openrouter_cost_status": ("VARCHAR", None),
    "user_id": ("VARCHAR", "user.id"),
    "gen_ai_conversation_id": ("VARCHAR", "gen_ai.conversation.id"),
}
CALLS_SQL = """
SELECT trace_id, span_id, start_time, service_name, gen_ai_response_id AS id, {columns}
FROM "{stream}"
WHERE gen_ai_provider_name = 'openrouter' AND span_status != 'ERROR'
  AND gen_ai_response_id LIKE 'gen-%' AND {openrouter_cost_status} IN ({statuses})
ORDER BY start_time LIMIT {limit}
"""
WRITTEN_SQL = """
SELECT gen_ai_response_id AS id FROM "{stream}"
WHERE openrouter_cost_status IN ('reconciled', 'verified')
"""
DAY_SQL = """
SELECT {gen_ai_response_model} AS model,
       SUM(CASE WHEN gen_ai_provider_name = 'openrouter' THEN 1 ELSE 0 END) AS traced_requests,
       SUM(CASE WHEN {openrouter_cost_status} IN ('reported', 'reconciled')
                THEN {gen_ai_usage_cost} ELSE 0.0 END) AS traced_usd,
       SUM(CASE WHEN {openrouter_cost_status} = 'reconciled' THEN 1 ELSE 0 END)
           AS reconciled_requests,
       SUM(CASE WHEN {openrouter_cost_status} = 'reconciled'
                THEN {gen_ai_usage_cost} ELSE 0.0 END) AS reconciled_usd,
       SUM(CASE WHEN gen_ai_provider_name = 'openrouter'
                 AND {openrouter_cost_status} IN ('not_recorded', 'not_reported') THEN 1
                WHEN {openrouter_cost_status} = 'reconciled' THEN -1 ELSE 0 END) AS unreconciled
FROM "{stream}"
WHERE (gen_ai_provider_name = 'openrouter' AND span_status != 'ERROR'
       AND gen_ai_response_id LIKE 'gen-%') OR {openrouter_cost_status} = 'reconciled'
GROUP BY model
"""
DAY_COLUMNS = {
    "gen_ai_response_model": "VARCHAR",
    "openrouter_cost_status": "VARCHAR",
    "gen_ai_usage_cost": "DOUBLE",
}


class ReconcileError(Exception):
    """A run that could not finish; str() is one line."""


@dataclass
class State:
    """What earlier runs did: answers not yet delivered, ids delivered, days compared."""

    path: Path
    answered: dict[str, dict[str, Any]] = field(default_factory=dict)
    written: dict[str, float] = field(default_factory=dict)
    days: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path)
        except ValueError as error:
            raise ReconcileError(f"RECONCILE_STATE_FILE: {path} is not JSON ({error})") from None
        return cls(path, document["answered"], document["written"], document["days"])

    def save(self) -> None:
        keep_after = time.time() - 8 * 86400  # older calls are out of every run's window
        self.written = {i: t for i, t in self.written.items() if t > keep_after}
        document = {"answered": self.answered, "written": self.written, "days": self.days}
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(document))
        os.replace(partial, self.path)


@dataclass
class CallsOutcome:
    reconciled: int = 0
    reconciled_usd: float = 0.0
    verified: int = 0
    pending: list[str] = field(default_factory=list)  # not in the ledger yet

    def as_dict(self) -> dict[str, Any]:
        return {
            "reconciled": self.reconciled,
            "reconciled_usd": self.reconciled_usd,
            "verified": self.verified,
            "pending": self.pending,
        }


class Reconciler:
    """One OpenObserve stream against one OpenRouter account."""

    def __init__(
        self,
        openobserve: OpenObserve,
        stream: str,
        ledger: OpenRouterLedger,
        state: State,
        exporter: Any = None,
    ) -> None:
        self.openobserve = openobserve
        self.stream = stream
        self.ledger = ledger
        self.state = state
        self.exporter = exporter or OTLPSpanExporter()

    def calls(self, start_us: int, end_us: int, verify: bool = False) -> CallsOutcome:
        """Look up the window's unpriced calls (every call with `verify`) and write a
        ledger span for each answer."""
        outcome = CallsOutcome()
        present = report.stream_columns(self.openobserve, self.stream)
        if present is None or not {"gen_ai_provider_name", "gen_ai_response_id"} <= present:
            return outcome
        done = set(self.state.written) | self._written_before(present, start_us)
        spans = []
        for call in self._calls(present, start_us, end_us, verify):
            if call["id"] in done:
                continue
            figures = self._figures(call["id"])
            if figures is None:
                outcome.pending.append(call["id"])
                continue
            status = VERIFIED if call["openrouter_cost_status"] in PRICED else RECONCILED
            copied = {
                attribute: call[name]
                for name, (_, attribute) in CALL_COLUMNS.items()
                if attribute and call.get(name) is not None
            }
            spans.append((call["id"], ledger_span(call, copied, figures, status)))
            if status == RECONCILED:
                outcome.reconciled += 1
                outcome.reconciled_usd += figures["total_cost"]
            else:
                outcome.verified += 1
            done.add(call["id"])
        self._deliver(spans)
        return outcome

    def day(self, date: str) -> list[dict[str, Any]]:
        """OpenRouter's activity of `date` per model against the traced calls of that UTC
        day; the untraced part is written once per day."""
        items = self.ledger.activity(date)
        start = dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc)
        start_us = int(start.timestamp() * 1e6)
        traced = self._traced(start_us, start_us + 86_400_000_000)
        rows = compare(items, traced)
        if date not in self.state.days:
            untraced = [row for row in rows if off_by(row)]
            self._deliver([(None, untraced_span(date, row)) for row in untraced])
            self.state.days[date] = time.time()
            self.state.save()
        return rows

    def _calls(
        self, present: set[str], start_us: int, end_us: int, verify: bool
    ) -> list[dict[str, Any]]:
        columns = {name: _column(name, kind, present) for name, (kind, _) in CALL_COLUMNS.items()}
        statuses = UNPRICED + (PRICED if verify else ())
        sql = CALLS_SQL.format(
            stream=self.stream,
            columns=", ".join(f"{expr} AS {name}" for name, expr in columns.items()),
            statuses=", ".join(f"'{status}'" for status in statuses),
            limit=CALLS_PER_RUN,
            **columns,
        )
        return self.openobserve.search(sql, start_us, end_us)

    def _written_before(self, present: set[str], start_us: int) -> set[str]:
        """Ids that have a ledger span in OpenObserve (a state file lost, or another host's)."""
        if "openrouter_cost_status" not in present:
            return set()
        sql = WRITTEN_SQL.format(stream=self.stream)
        hits = self.openobserve.search(sql, start_us, int(time.time() * 1e6) + 1)
        return {hit["id"] for hit in hits}

    def _figures(self, generation_id: str) -> dict[str, Any] | None:
        if generation_id in self.state.answered:
            return self.state.answered[generation_id]
        figures = self.ledger.generation(generation_id)
        if figures is not None:
            self.state.answered[generation_id] = figures
            self.state.save()
        return figures

    def _traced(self, start_us: int, end_us: int) -> list[dict[str, Any]]:
        present = report.stream_columns(self.openobserve, self.stream)
        if present is None or not {"gen_ai_provider_name", "gen_ai_response_id"} <= present:
            return []
        columns = {name: _column(name, kind, present) for name, kind in DAY_COLUMNS.items()}
        sql = DAY_SQL.format(stream=self.stream, **columns)
        return self.openobserve.search(sql, start_us, end_us)

    def _deliver(self, spans: list[tuple[str | None, ReadableSpan]]) -> None:
        """Export to the collector; an answer is marked written only once it was taken."""
        if not spans:
            return
        if self.exporter.export([span for _, span in spans]) != SpanExportResult.SUCCESS:
            endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")
            raise ReconcileError(
                f"the collector at {endpoint} did not take {len(spans)} ledger span(s); "
                "they are kept and sent on the next run"
            )
        now = time.time()
        for generation_id, _ in spans:
            if generation_id is not None:
                self.state.answered.pop(generation_id, None)
                self.state.written[generation_id] = now
        self.state.save()


def compare(items: list[dict[str, Any]], traced: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model: billed (the ledger's activity), traced, reconciled and untraced."""
    by_model: dict[str, dict[str, Any]] = {}
    for item in items:
        row = by_model.setdefault(item["model"], _day_row(item["model"]))
        row["billed_requests"] += item["requests"]
        row["billed_usd"] += item["usage"]
        row["providers"] = sorted({*row["providers"], item["provider_name"]})
    for hit in traced:
        row = by_model.setdefault(hit["model"] or "unknown", _day_row(hit["model"] or "unknown"))
        row["traced_requests"] += hit["traced_requests"] or 0
        row["traced_usd"] += hit["traced_usd"] or 0.0
        row["reconciled_requests"] += hit["reconciled_requests"] or 0
        row["reconciled_usd"] += hit["reconciled_usd"] or 0.0
        row["unreconciled"] += max(hit["unreconciled"] or 0, 0)
    for row in by_model.values():
        row["untraced_requests"] = row["billed_requests"] - row["traced_requests"]
        row["untraced_usd"] = row["billed_usd"] - row["traced_usd"]
    return sorted(by_model.values(), key=lambda row: (-row["billed_usd"], row["model"]))


def _day_row(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "providers": [],
        "billed_requests": 0,
        "traced_requests": 0,
        "reconciled_requests": 0,
        "billed_usd": 0.0,
        "traced_usd": 0.0,
        "reconciled_usd": 0.0,
        "unreconciled": 0,
    }


def _column(name: str, kind: str, present: set[str]) -> str:
    return f"CAST({name} AS {kind})" if name in present else f"CAST(NULL AS {kind})"


def yesterday_utc(now_s: float) -> str:
    return (
        dt.datetime.fromtimestamp(now_s, dt.timezone.utc).date() - dt.timedelta(days=1)
    ).isoformat()


DAY_TABLE = (
    ("model", "model"),
    ("billed_requests", "billed req"),
    ("traced_requests", "traced req"),
    ("reconciled_requests", "reconciled req"),
    ("untraced_requests", "untraced req"),
    ("billed_usd", "billed USD"),
    ("traced_usd", "traced USD"),
    ("reconciled_usd", "reconciled USD"),
    ("untraced_usd", "untraced USD"),
    ("unreconciled", "unreconciled"),
)


def render(outcome: CallsOutcome, date: str | None, day: list[dict[str, Any]] | None) -> str:
    lines = [
        f"calls: {outcome.reconciled} reconciled (USD {outcome.reconciled_usd:.8f}), "
        f"{outcome.verified} verified, {len(outcome.pending)} not in OpenRouter's ledger yet"
    ]
    if day is not None:
        cells = [[_cell(row[key]) for key, _ in DAY_TABLE] for row in day]
        lines += [f"{date} (UTC), OpenRouter's activity against the traced calls:"]
        lines += [
            format_table([title for _, title in DAY_TABLE], cells) if cells else "no activity"
        ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:.8f}" if isinstance(value, float) else str(value)


def off_by(row: dict[str, Any]) -> bool:
    """Did the ledger bill this model for calls, or dollars, the traced ones do not hold?"""
    return bool(row["untraced_requests"]) or abs(row["untraced_usd"]) > 1e-12


def unreconciled(outcome: CallsOutcome, day: list[dict[str, Any]] | None) -> bool:
    rows = day or []
    return bool(outcome.pending) or any(off_by(row) or row["unreconciled"] for row in rows)


def _fail(message: str, status: int) -> NoReturn:
    render_config.fail(message, "reconcile", status)


def reconciler_from(settings: dict[str, Any]) -> Reconciler:
    ledger = OpenRouterLedger(
        settings["OPENROUTER_BASE_URL"],
        settings["OPENROUTER_API_KEY"],
        settings["OPENROUTER_MANAGEMENT_KEY"],
        max_rps=settings["RECONCILE_MAX_RPS"],
    )
    state = State.load(Path(settings["RECONCILE_STATE_FILE"]))
    openobserve = OpenObserve.from_settings(settings)
    return Reconciler(openobserve, settings["OPENOBSERVE_STREAM"], ledger, state)


def run_once(
    reconciler: Reconciler, since: str, date: str | None, verify: bool
) -> tuple[CallsOutcome, list[dict[str, Any]] | None]:
    """Calls since `since`, then the day `date` (None: no day)."""
    now_s = time.time()
    start_us = report.parse_when(since, now_s)
    outcome = reconciler.calls(start_us, int(now_s * 1e6) + 1, verify)
    return outcome, (reconciler.day(date) if date is not None else None)


def output(
    outcome: CallsOutcome, date: str | None, day: list[dict[str, Any]] | None, output_format: str
) -> str:
    if output_format == "json":
        document = {"calls": outcome.as_dict(), "date": date, "models": day}
        return json.dumps(document, indent=2)
    return render(outcome, date, day)


def watch(reconciler: Reconciler, settings: dict[str, Any], since: str, verify: bool) -> None:
    """Every RECONCILE_INTERVAL_S: the calls, and yesterday once it has not been compared."""
    while True:
        date = None
        if settings["OPENROUTER_MANAGEMENT_KEY"]:
            date = yesterday_utc(time.time())
            date = None if date in reconciler.state.days else date
        try:
            outcome, day = run_once(reconciler, since, date, verify)
            click.echo(output(outcome, date, day, "table"))
        except (OpenRouterError, OpenObserveError, ReconcileError) as error:
            click.echo(f"reconcile: {error}", err=True)
        time.sleep(settings["RECONCILE_INTERVAL_S"])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@render_config.env_file_option
@report.since_option("Calls from")
@click.option(
    "--date",
    "date",
    default=None,
    help="The completed UTC day (YYYY-MM-DD) to compare with OpenRouter's activity; default "
    "yesterday, when OPENROUTER_MANAGEMENT_KEY is set.",
)
@click.option("--verify", is_flag=True, help="Look up every call, also those that carried a cost.")
@click.option(
    "--watch", "forever", is_flag=True, help="Run every RECONCILE_INTERVAL_S until stopped."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
def main(
    env_file: Path, since: str, date: str | None, verify: bool, forever: bool, output_format: str
) -> None:
    """Reconcile OpenObserve's spend with OpenRouter's ledger: the billed cost of calls that
    did not record it, and a day's untraced calls. Exit status 3: something is unreconciled
    (a call not in the ledger yet, untraced calls or spend)."""
    settings = render_config.settings_or_exit(env_file, command="reconcile")
    # The exporter logs each failed attempt; reconcile says in one line what it kept.
    logging.getLogger("opentelemetry.exporter.otlp").setLevel(logging.CRITICAL)
    try:
        report.parse_when(since, time.time())
    except ValueError as error:
        _fail(f"--since: {error}", EXIT_INVALID)
    if date is not None and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
        _fail(f"--date: expected a UTC day YYYY-MM-DD, got {date!r}", EXIT_INVALID)
    try:
        reconciler = reconciler_from(settings)
    except (settings_mod.SettingsError, ReconcileError) as error:
        _fail(str(error), EXIT_INVALID)
    if forever:
        watch(reconciler, settings, since, verify)
    if date is None and settings["OPENROUTER_MANAGEMENT_KEY"]:
        date = yesterday_utc(time.time())
    try:
        outcome, day = run_once(reconciler, since, date, verify)
    except (OpenRouterError, OpenObserveError, ReconcileError) as error:
        _fail(str(error), EXIT_FAILED)
    click.echo(output(outcome, date, day, output_format))
    sys.exit(EXIT_UNRECONCILED if unreconciled(outcome, day) else 0)


if __name__ == "__main__":
    main()
