"""`doctor`: is the whole path healthy? Checks .env, the rendered config, the collector,
and that a canary span sent through the collector arrives in OpenObserve.

Prints a pass/fail table with the fix for each failure; exits 1 when anything fails.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from openrouter_openobserve import render_config, report
from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.collector_process import collector_metric
from openrouter_openobserve.openobserve_api import OpenObserve, OpenObserveError, not_there_yet
from openrouter_openobserve.table import format_table


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], Check]
    needs: tuple[str, ...] = ()  # checks that must have passed first


class Doctor:
    """Runs the checks in order; a check whose prerequisite failed is reported as skipped."""

    def __init__(self, env_file: Path | None, collector: Path, canary_timeout_s: float) -> None:
        self.env_file = env_file
        self.collector = collector
        self.canary_timeout_s = canary_timeout_s
        self.settings: dict[str, Any] | None = None
        self.config_text = ""
        self.checks: list[Check] = []

    def run(self) -> list[Check]:
        steps = [
            Step(".env", self.check_env),
            Step("render", self.check_render, (".env",)),
            Step("collector validate", self.check_validate, ("render",)),
            Step("collector health", self.check_health, ("collector validate",)),
            # The two credentials are checked apart, so that doctor names the one to fix.
            Step("ingest credential", self.check_ingest_credential, (".env",)),
            Step("API credential", self.check_api_credential, (".env",)),
            Step("collector backlog", self.check_backlog, ("collector health",)),
            Step("app attribute limit", self.check_lost_in_app, ("API credential",)),
            Step(
                "canary in OpenObserve",
                self.check_canary,
                ("collector health", "ingest credential", "API credential"),
            ),
        ]
        passed: set[str] = set()
        for step in steps:
            if not all(need in passed for need in step.needs):
                self.checks.append(Check(step.name, False, "skipped: an earlier check failed"))
                continue
            try:
                check = step.run()
            except Exception as error:  # a check must report, never crash the doctor
                check = Check(step.name, False, f"{type(error).__name__}: {error}")
            self.checks.append(check)
            if check.passed:
                passed.add(step.name)
        return self.checks

    def check_env(self) -> Check:
        try:
            self.settings = settings_mod.load(self.env_file)
        except settings_mod.SettingsError as error:
            first, *more = str(error).splitlines()
            detail = first + (f" (and {len(more)} more: render-config lists them)" if more else "")
            return Check(".env", False, detail, "fix the value in .env (see .env.example)")
        where = self.env_file or "environment only"
        return Check(".env", True, f"valid ({where})")

    def check_render(self) -> Check:
        assert self.settings is not None
        self.config_text = render_config.render(self.settings)
        secrets = [str(self.settings[k]) for k in settings_mod.SECRET_KEYS if self.settings[k]]
        leaked = [secret for secret in secrets if secret in self.config_text]
        if leaked:
            return Check("render", False, f"{len(leaked)} secret value(s) in the rendered config")
        return Check("render", True, f"{len(self.config_text.splitlines())} lines, no secrets")

    def check_validate(self) -> Check:
        assert self.settings is not None
        environ = {**os.environ, **render_config.collector_secrets(self.settings)}
        complaint = render_config.collector_validate(self.collector, self.config_text, environ)
        if complaint:
            return Check("collector validate", False, complaint, "run scripts/build-collector")
        return Check("collector validate", True, "accepted by the collector binary")

    def check_health(self) -> Check:
        assert self.settings is not None
        url = f"http://127.0.0.1:{self.settings['COLLECTOR_HEALTH_PORT']}/"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                status = response.status
        except (urllib.error.URLError, OSError) as error:
            return Check(
                "collector health",
                False,
                f"{url}: {getattr(error, 'reason', error)}",
                "start the collector (run-collector, docker compose up, or scripts/demo)",
            )
        return Check("collector health", status == 200, f"{url} answered {status}")

    def check_ingest_credential(self) -> Check:
        """An empty export with the collector's credential, straight to OpenObserve."""
        settings = self._settings_with("OPENOBSERVE_AUTH_TOKEN")
        org = settings["OPENOBSERVE_ORG"]
        ingest = OpenObserve(settings["OPENOBSERVE_URL"], org, settings["OPENOBSERVE_AUTH_TOKEN"])
        try:
            ingest.ingest_nothing()
        except OpenObserveError as error:
            return Check("ingest credential", False, str(error), _ingest_fix(error, org))
        return Check("ingest credential", True, f"OPENOBSERVE_AUTH_TOKEN may ingest into '{org}'")

    def check_api_credential(self) -> Check:
        """A schema read with the API credential: 404 (no data yet) still proves it."""
        settings = self._settings_with("OPENOBSERVE_ORG")
        key = (
            "OPENOBSERVE_API_TOKEN"
            if settings["OPENOBSERVE_API_TOKEN"]
            else "OPENOBSERVE_AUTH_TOKEN"
        )
        stream, org = settings["OPENOBSERVE_STREAM"], settings["OPENOBSERVE_ORG"]
        try:
            OpenObserve.from_settings(settings).stream_schema(stream)
        except OpenObserveError as error:
            if error.status != 404:
                return Check("API credential", False, str(error), _api_fix(error, key, org))
            return Check("API credential", True, f"{key} may read '{org}' (no data there yet)")
        return Check("API credential", True, f"{key} may read '{org}'")

    def check_backlog(self) -> Check:
        """Spans waiting in the collector's queue, and how old the backlog may be."""
        assert self.settings is not None
        queued = collector_metric(
            self.settings["COLLECTOR_METRICS_PORT"],
            "otelcol_exporter_queue_size",
            {"exporter": "otlp_http/openobserve"},
        )
        if not queued:
            return Check("collector backlog", True, "nothing waiting to be sent")
        window_h = self.settings["OPENOBSERVE_INGEST_WINDOW_HOURS"]
        try:
            age_h = delivery_lag_hours(self.settings)
        except OpenObserveError as error:
            return Check(
                "collector backlog", True, f"{queued:.0f} spans queued; age unknown: {error}"
            )
        if age_h is None:
            detail = f"{queued:.0f} spans queued; none delivered in the last {window_h} h"
            return Check("collector backlog", True, detail)
        detail = f"{queued:.0f} spans queued; spans arrive {age_h:.1f} h late"
        if age_h > 0.8 * window_h:
            return Check(
                "collector backlog",
                False,
                detail,
                f"OpenObserve drops spans older than {window_h} h (ZO_INGEST_ALLOWED_UPTO, "
                "OPENOBSERVE_INGEST_WINDOW_HOURS): restore delivery (the collector log names "
                "the failing status) or raise ZO_INGEST_ALLOWED_UPTO on the server",
            )
        return Check("collector backlog", True, detail)

    def check_lost_in_app(self) -> Check:
        """Calls of the last day whose response JSON the app's SDK evicted before export."""
        assert self.settings is not None
        openobserve = OpenObserve.from_settings(self.settings)
        stream = self.settings["OPENOBSERVE_STREAM"]
        columns = report.stream_columns(openobserve, stream)
        if not columns or "openrouter_cost_status" not in columns:
            return Check("app attribute limit", True, "no LLM call recorded yet")
        now_us = int(time.time() * 1e6)
        sql = (
            f'SELECT COUNT(*) AS lost FROM "{stream}" '
            "WHERE openrouter_cost_status = 'lost_in_app'"
        )
        hits = openobserve.search(sql, now_us - 86_400_000_000, now_us + 1)
        lost = int(hits[0]["lost"]) if hits else 0
        if lost:
            fix = report.LOST_IN_APP_FIX.format(n=lost).split(": ", 1)[1]
            return Check("app attribute limit", False, f"{lost} call(s) in 24 h lost", fix)
        return Check("app attribute limit", True, "no call lost its response in the app (24 h)")

    def check_canary(self) -> Check:
        assert self.settings is not None
        name = f"doctor canary {uuid.uuid4()}"
        sent_at_us = int(time.time() * 1e6) - 1_000_000
        send_canary(name, self.settings)
        deadline = time.monotonic() + self.canary_timeout_s
        while True:
            try:
                hits = search_spans(self.settings, name, sent_at_us)
            except OpenObserveError as error:
                if not not_there_yet(error):
                    raise
                hits = []  # the stream (or org) is created by the canary's own arrival
            if hits:
                return Check("canary in OpenObserve", True, f"'{name}' arrived")
            if time.monotonic() > deadline:
                return Check(
                    "canary in OpenObserve",
                    False,
                    f"'{name}' not found after {self.canary_timeout_s:.0f}s",
                    "read the collector log: 'Exporting failed' names the HTTP status",
                )
            time.sleep(0.5)

    def _settings_with(self, key: str) -> dict[str, Any]:
        assert self.settings is not None
        if not self.settings.get(key):
            raise settings_mod.SettingsError(
                key, "a value to reach OpenObserve (required, not set)"
            )
        return self.settings


def _ingest_fix(error: OpenObserveError, org: str) -> str:
    if error.status in (401, 403):
        return (
            f"OPENOBSERVE_AUTH_TOKEN is not accepted for ingestion into '{org}': use Basic "
            "base64(email:passcode) from OpenObserve's ingestion page, or an o2oi_ org token"
        )
    if error.status == 404:
        return f"OPENOBSERVE_ORG '{org}' does not exist and this credential cannot create it"
    return "check OPENOBSERVE_URL and that OpenObserve is up"


def _api_fix(error: OpenObserveError, key: str, org: str) -> str:
    if error.status in (401, 403):
        return (
            f"{key} is refused by OpenObserve's API for '{org}': set OPENOBSERVE_API_TOKEN to "
            "Basic base64(email:password) of a user of the org (ingestion passcodes and o2oi_ "
            "tokens only work for ingestion)"
        )
    return "check OPENOBSERVE_URL and that OpenObserve is up"


# Spans delivered this recently say how late delivery runs now.
RECENT_DELIVERY_US = 15 * 60_000_000


def delivery_lag_hours(settings: dict[str, Any]) -> float | None:
    """How many hours late spans reach the stream (None when none arrived within the ingest
    window): the age of the newest span there (while the collector holds a backlog, about
    the age of its oldest), and, where OpenObserve writes each span's ingest time
    (`_o2_ingest_ts`, from v0.92), the latest of the last 15 minutes' spans."""
    openobserve = OpenObserve.from_settings(settings)
    stream = settings["OPENOBSERVE_STREAM"]
    now_us = int(time.time() * 1e6)
    start_us = now_us - settings["OPENOBSERVE_INGEST_WINDOW_HOURS"] * 3_600_000_000
    sql = f'SELECT MAX(_timestamp) AS newest FROM "{stream}"'
    try:
        hits = openobserve.search(sql, start_us, now_us + 1)
        late_us = ingest_lateness_us(openobserve, stream, start_us, now_us)
    except OpenObserveError as error:
        if not not_there_yet(error):
            raise
        return None
    newest = hits[0].get("newest") if hits else None
    if newest is None:
        return None
    return max(now_us - newest, late_us or 0) / 3_600_000_000


def ingest_lateness_us(openobserve: OpenObserve, stream: str, start_us: int, now_us: int) -> Any:
    """The most a recently delivered span waited between its end and OpenObserve's ingest,
    or None where the stream has no `_o2_ingest_ts` (v0.91.5)."""
    fields = openobserve.stream_schema(stream).get("schema") or []
    if not any(field.get("name") == "_o2_ingest_ts" for field in fields):
        return None
    sql = (
        f'SELECT MAX(_o2_ingest_ts - end_time / 1000) AS late FROM "{stream}" '
        f"WHERE _o2_ingest_ts >= {now_us - RECENT_DELIVERY_US}"
    )
    hits = openobserve.search(sql, start_us, now_us + 1)
    return hits[0].get("late") if hits else None


def send_canary(name: str, settings: dict[str, Any]) -> None:
    """One span through the collector's OTLP/gRPC receiver, with the SDK's own exporter."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "doctor"}))
    address = render_config.client_address(settings["COLLECTOR_BIND_ADDRESS"])
    endpoint = "http://" + render_config.listen_endpoint(
        address, settings["COLLECTOR_OTLP_GRPC_PORT"]
    )
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    provider.get_tracer("doctor").start_span(name).end()
    provider.shutdown()


def search_spans(settings: dict[str, Any], name: str, since_us: int) -> list[dict[str, Any]]:
    """OpenObserve's search API: the canary's rows in the configured stream."""
    sql = (
        f"SELECT span_id FROM \"{settings['OPENOBSERVE_STREAM']}\" WHERE operation_name = '{name}'"
    )
    openobserve = OpenObserve.from_settings(settings)
    return openobserve.search(sql, since_us, int(time.time() * 1e6) + 1)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@render_config.env_file_option
@render_config.collector_option
@click.option(
    "--timeout",
    "canary_timeout_s",
    default=30.0,
    show_default=True,
    help="Seconds to wait for the canary span in OpenObserve.",
)
def main(env_file: Path, collector: Path, canary_timeout_s: float) -> None:
    """Check the bundle end to end and print what to fix."""
    doctor = Doctor(env_file if env_file.is_file() else None, collector, canary_timeout_s)
    checks = doctor.run()
    rows = [(c.name, "pass" if c.passed else "FAIL", c.detail, c.fix) for c in checks]
    click.echo(format_table(("check", "result", "detail", "fix"), rows))
    sys.exit(0 if all(c.passed for c in checks) else 1)


if __name__ == "__main__":
    main()
