"""`provision`: create or update the bundle's dashboards and alerts in OpenObserve.

The dashboards (`collector/dashboards/*.json`) and alerts (`collector/alerts/*.json`) are
stored in OpenObserve's own import format and query the stream `default`; provisioning
points them at OPENOBSERVE_STREAM, sends the alerts to ALERT_DESTINATION and sets the
thresholds `.env` holds. Idempotent: what already matches is left alone, so a second run
changes nothing. Dashboards are matched by title, alerts by name, in the `default` folder;
safe to run twice at once (copies one run made beside the other's are deleted).

OpenObserve takes some of it only after the first spans have landed: an alert on a stream
without data is refused (404 "Stream X not found"), and an org other than `default` does not
exist until its first ingestion (404 "Organization not found"). Those are deferred, and
`--wait` retries them until the spans arrive.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from openrouter_openobserve import render_config
from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.bundle_files import collector_dir
from openrouter_openobserve.openobserve_api import OpenObserve, OpenObserveError

DASHBOARDS_DIR = collector_dir() / "dashboards"
ALERTS_DIR = collector_dir() / "alerts"
FOLDER = "default"
SHIPPED_STREAM = "default"  # the stream the shipped JSON queries
# Alerts whose threshold comes from .env: the number their SQL ends with.
THRESHOLD_SETTINGS = {
    "openrouter_hourly_cost": "ALERT_HOURLY_COST_USD",
    "openrouter_user_hourly_cost": "ALERT_USER_HOURLY_COST_USD",
    "openrouter_pipeline_backlog": "ALERT_BACKLOG_ITEMS",
    "openrouter_untraced_spend": "ALERT_UNRECONCILED_USD",
}
TRAILING_THRESHOLD = re.compile(r"> [0-9.]+$")
# Panels whose query reads OpenObserve's ingest time (`_o2_ingest_ts`, written from v0.92)
# where the stream has it; the shipped JSON holds the estimate v0.91.5 can answer.
INGEST_TIME_QUERIES = {
    "Delivery lag per service (minutes)": (
        'SELECT service_name AS "x_axis_1", MAX(_o2_ingest_ts - end_time / 1000) / 60000000.0 '
        'AS "y_axis_1" FROM "default" GROUP BY x_axis_1 ORDER BY y_axis_1 DESC'
    ),
}
EXIT_FAILED, EXIT_INVALID, EXIT_DEFERRED = 1, 2, 3
RETRY_INTERVAL_S = 5.0


class ProvisionError(Exception):
    """Provisioning cannot go on; str() is the one-line reason."""


@dataclass
class Change:
    kind: str  # dashboard | alert
    name: str
    action: str  # create | update | unchanged | deferred
    reason: str = ""


def waits_for_data(error: OpenObserveError) -> str | None:
    """Why OpenObserve cannot take this yet, when the first spans would change that."""
    text = str(error)
    if error.status == 404 and "Organization not found" in text:
        return "the org does not exist until its first spans arrive"
    if error.status == 404 and re.search(r"Stream \S+ not found", text):
        return "its stream has no data yet (OpenObserve refuses alerts on it)"
    return None


def load_json(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))
    ]


def retarget(sql: str, stream: str) -> str:
    """The shipped query with its stream replaced by `stream`."""
    shipped = f'FROM "{SHIPPED_STREAM}"'
    if sql.count(shipped) != 1:
        raise ProvisionError(f"a shipped query does not read {shipped} exactly once: {sql[:80]}")
    return sql.replace(shipped, f'FROM "{stream}"')


def desired_dashboards(stream: str, ingest_time: bool = False) -> list[dict[str, Any]]:
    """The shipped dashboards on `stream`; with `ingest_time`, the panels that can read
    OpenObserve's ingest time do."""
    dashboards = load_json(DASHBOARDS_DIR)
    for dashboard in dashboards:
        for tab in dashboard["tabs"]:
            for panel in tab["panels"]:
                for query in panel["queries"]:
                    if query["fields"]["stream_type"] != "traces":
                        continue  # a metric stream has the metric's name, whatever the setting
                    if ingest_time and panel["title"] in INGEST_TIME_QUERIES:
                        query["query"] = INGEST_TIME_QUERIES[panel["title"]]
                    query["query"] = retarget(query["query"], stream)
                    query["fields"]["stream"] = stream
    return dashboards


def desired_alerts(settings: dict[str, Any]) -> list[dict[str, Any]]:
    alerts = load_json(ALERTS_DIR)
    for alert in alerts:
        condition = alert["query_condition"]
        if alert["stream_type"] == "traces":
            condition["sql"] = retarget(condition["sql"], settings["OPENOBSERVE_STREAM"])
            alert["stream_name"] = settings["OPENOBSERVE_STREAM"]
        key = THRESHOLD_SETTINGS.get(alert["name"])
        if key in settings:  # the shipped query holds the setting's default
            condition["sql"] = TRAILING_THRESHOLD.sub(f"> {settings[key]}", condition["sql"])
        alert["destinations"] = [settings["ALERT_DESTINATION"]]
    return alerts


def contains(existing: Any, desired: Any) -> bool:
    """Does `existing` (as OpenObserve returns it) say everything `desired` says? Fields the
    server adds are ignored, and an empty desired value matches a missing one."""
    if desired in (None, "", [], {}):
        return existing in (None, "", [], {})
    if isinstance(desired, dict):
        return isinstance(existing, dict) and all(
            contains(existing.get(key), value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(existing, list)
            and len(existing) == len(desired)
            and all(contains(e, d) for e, d in zip(existing, desired, strict=True))
        )
    return existing == desired


class Provisioner:
    """Brings one org's dashboards and alerts in line with the shipped ones."""

    def __init__(self, openobserve: OpenObserve, dry_run: bool) -> None:
        self.api = openobserve
        self.dry_run = dry_run
        self.org = openobserve.org

    def _write(self, method: str, path: str, body: Any, query: dict[str, str]) -> None:
        if not self.dry_run:
            self.api.call(method, path, body, query)

    def dashboard(self, desired: dict[str, Any], listed: list[dict[str, Any]]) -> Change:
        title = desired["title"]
        path = f"/api/{self.org}/dashboards"
        ids = [item["dashboard_id"] for item in listed if item["title"] == title]
        if not ids:
            self._create("dashboard", title, path, desired)
            return Change("dashboard", title, "create")
        dashboard_id = self._keep_oldest("dashboard", title, desired, ids)
        current = self.api.call("GET", f"{path}/{dashboard_id}")
        if contains(current.get(f"v{current['version']}"), desired):
            return Change("dashboard", title, "unchanged")
        query = {"folder": FOLDER, "hash": current["hash"]}
        try:
            self._write("PUT", f"{path}/{dashboard_id}", desired, query)
        except OpenObserveError as error:
            # 409: the hash went stale, another provision updated it first.
            current = self.api.call("GET", f"{path}/{dashboard_id}")
            if error.status != 409 or not contains(current.get(f"v{current['version']}"), desired):
                raise
        return Change("dashboard", title, "update")

    def alert(self, desired: dict[str, Any], listed: list[dict[str, Any]]) -> Change:
        name = desired["name"]
        path = f"/api/v2/{self.org}/alerts"
        ids = [item["alert_id"] for item in listed if item["name"] == name]
        try:
            if not ids:
                self._create("alert", name, path, desired)
                return Change("alert", name, "create")
            alert_id = self._keep_oldest("alert", name, desired, ids)
            current = self.api.call("GET", f"{path}/{alert_id}")
            if contains(current, desired):
                return Change("alert", name, "unchanged")
            self._write("PUT", f"{path}/{alert_id}", desired, {})
            return Change("alert", name, "update")
        except OpenObserveError as error:
            if (reason := waits_for_data(error)) is None:
                raise
            return Change("alert", name, "deferred", reason)

    def _create(self, kind: str, name: str, path: str, desired: dict[str, Any]) -> None:
        if not self.dry_run:
            self.api.call("POST", path, desired, {"folder": FOLDER})
            # Listed again: another provision may have created one too.
            self._keep_oldest(kind, name, desired, self._ids_named(kind, name))

    def _keep_oldest(self, kind: str, name: str, desired: dict[str, Any], ids: list[str]) -> str:
        """One item of this name: the oldest. OpenObserve does not keep names unique, so
        two provisions at once may both create one; each then keeps the oldest of what it
        lists and deletes the other copies of the shipped item (every copy is deleted by
        whichever run lists it beside an older one, so one remains). A copy someone edited
        is not deleted: the run stops and asks to keep one."""
        keep, *copies = sorted(ids, key=lambda item: (len(item), item))  # creation order
        for copy_id in copies:
            try:
                current = self.api.call("GET", self._item_path(kind, copy_id))
                content = current.get(f"v{current['version']}") if kind == "dashboard" else current
                if not contains(content, desired):
                    raise ProvisionError(f"{len(ids)} {kind}s are named '{name}': keep one")
                self._write("DELETE", self._item_path(kind, copy_id), None, {"folder": FOLDER})
            except OpenObserveError as error:
                if error.status != 404:  # 404: another provision deleted it first
                    raise
        return keep

    def _ids_named(self, kind: str, name: str) -> list[str]:
        if kind == "dashboard":
            listed = self.api.call("GET", f"/api/{self.org}/dashboards", None, {"folder": FOLDER})
            return [d["dashboard_id"] for d in listed["dashboards"] if d["title"] == name]
        listed = self.api.call("GET", f"/api/v2/{self.org}/alerts")["list"]
        return [a["alert_id"] for a in listed if a["name"] == name]

    def _item_path(self, kind: str, item_id: str) -> str:
        if kind == "dashboard":
            return f"/api/{self.org}/dashboards/{item_id}"
        return f"/api/v2/{self.org}/alerts/{item_id}"

    def has_ingest_time(self, stream: str) -> bool:
        """Does OpenObserve write `_o2_ingest_ts` into the stream (v0.92 on)? Unknown, so
        no, before the first spans: a later run switches the panels over."""
        try:
            fields = self.api.stream_schema(stream).get("schema") or []
        except OpenObserveError as error:
            if error.status != 404:
                raise
            return False
        return any(field.get("name") == "_o2_ingest_ts" for field in fields)

    def check_destination(self, name: str) -> None:
        destinations = self.api.call("GET", f"/api/{self.org}/alerts/destinations") or []
        names = sorted(d["name"] for d in destinations)
        if name not in names:
            have = ", ".join(names) if names else "none"
            raise ProvisionError(
                f"ALERT_DESTINATION '{name}' is not an alert destination in org '{self.org}' "
                f"(it has: {have}); create it under Management > Alert Destinations"
            )

    def run(self, settings: dict[str, Any]) -> list[Change]:
        """Every shipped dashboard, then every alert (when a destination is set); a bad
        destination stops the run before anything is written. In an org OpenObserve has not
        created yet, everything is deferred."""
        stream = settings["OPENOBSERVE_STREAM"]
        dashboards = desired_dashboards(stream)
        alerts = desired_alerts(settings) if settings["ALERT_DESTINATION"] else []
        try:
            if alerts:
                self.check_destination(settings["ALERT_DESTINATION"])
            listed = self.api.call("GET", f"/api/{self.org}/dashboards", None, {"folder": FOLDER})
        except OpenObserveError as error:
            if (reason := waits_for_data(error)) is None:
                raise
            return [
                Change(kind, item.get("title") or item["name"], "deferred", reason)
                for kind, items in (("dashboard", dashboards), ("alert", alerts))
                for item in items
            ]
        if self.has_ingest_time(stream):
            dashboards = desired_dashboards(stream, ingest_time=True)
        changes = [self.dashboard(d, listed["dashboards"]) for d in dashboards]
        if alerts:
            existing = self.api.call("GET", f"/api/v2/{self.org}/alerts")["list"]
            changes += [self.alert(alert, existing) for alert in alerts]
        return changes


def describe(change: Change, dry_run: bool) -> str:
    if change.action == "deferred":
        return f"{change.kind} '{change.name}': deferred: {change.reason}"
    done = {"create": "created", "update": "updated", "unchanged": "unchanged"}[change.action]
    if dry_run and change.action != "unchanged":
        done = f"would be {done}"
    return f"{change.kind} '{change.name}': {done}"


def provision_until_done(
    provisioner: Provisioner, settings: dict[str, Any], wait_s: float
) -> list[Change]:
    """Run, and while something is deferred, run again every RETRY_INTERVAL_S for up to
    `wait_s` seconds. Returns what happened to each item over all runs; each deferral is
    announced once."""
    deadline = time.monotonic() + wait_s
    done: dict[tuple[str, str], Change] = {}
    announced: set[tuple[str, str]] = set()
    while True:
        for change in provisioner.run(settings):
            key = (change.kind, change.name)
            earlier = done.get(key)
            # A create or update in an earlier run stays the item's story: "unchanged" in a
            # later run only says it is still there, "update" after "create" that the first
            # spans changed it (the panels that read the ingest time).
            if (
                earlier is None
                or earlier.action == "deferred"
                or earlier.action == "unchanged"
                or (change.action == "update" and earlier.action != "create")
            ):
                done[key] = change
        deferred = [key for key, change in done.items() if change.action == "deferred"]
        if not deferred or time.monotonic() + RETRY_INTERVAL_S > deadline:
            return list(done.values())
        for key in deferred:
            if key not in announced:
                announced.add(key)
                click.echo(f"{describe(done[key], False)}; retrying for up to {wait_s:.0f}s")
        time.sleep(RETRY_INTERVAL_S)


def _fail(message: str, status: int) -> NoReturn:
    render_config.fail(message, "provision", status)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@render_config.env_file_option
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Seconds to keep retrying what OpenObserve takes only after the first spans "
    "(alerts on a stream without data, a new org).",
)
def main(env_file: Path, dry_run: bool, wait_s: float) -> None:
    """Create or update the bundle's dashboards and alerts in OpenObserve.

    Running it again changes nothing unless the shipped JSON or .env changed. Alerts need
    ALERT_DESTINATION; without it only the dashboards are provisioned. What OpenObserve
    cannot take before the first spans arrive is deferred (exit status 3), or retried with
    --wait.
    """
    try:
        settings = settings_mod.load(env_file if env_file.is_file() else None)
        provisioner = Provisioner(OpenObserve.from_settings(settings), dry_run)
    except settings_mod.SettingsError as error:
        _fail(str(error), EXIT_INVALID)
    try:
        changes = provision_until_done(provisioner, settings, 0 if dry_run else wait_s)
    except (OpenObserveError, ProvisionError) as error:
        _fail(str(error), EXIT_FAILED)
    for change in changes:
        click.echo(describe(change, dry_run))
    if not settings["ALERT_DESTINATION"]:
        click.echo("alerts skipped: set ALERT_DESTINATION to an OpenObserve alert destination")
    if any(change.action == "deferred" for change in changes):
        click.echo("provision: run it again once spans have arrived (or use --wait)", err=True)
        sys.exit(EXIT_DEFERRED)


if __name__ == "__main__":
    main()
