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

from app.table import format_table
from scripts import render_config
from scripts import settings as settings_mod
from scripts.openobserve_api import OpenObserve, OpenObserveError


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    fix: str = ""


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
        steps: list[tuple[str, Callable[[], Check]]] = [
            (".env", self.check_env),
            ("render", self.check_render),
            ("collector validate", self.check_validate),
            ("collector health", self.check_health),
            ("canary in OpenObserve", self.check_canary),
        ]
        for name, step in steps:
            if self.checks and not self.checks[-1].passed:
                self.checks.append(Check(name, False, "skipped: an earlier check failed"))
                continue
            try:
                self.checks.append(step())
            except Exception as error:  # a check must report, never crash the doctor
                self.checks.append(Check(name, False, f"{type(error).__name__}: {error}"))
        return self.checks

    def check_env(self) -> Check:
        try:
            self.settings = settings_mod.load(self.env_file)
        except settings_mod.SettingsError as error:
            return Check(".env", False, str(error), "fix the value in .env (see .env.example)")
        where = self.env_file or "environment only"
        return Check(".env", True, f"valid ({where})")

    def check_render(self) -> Check:
        assert self.settings is not None
        self.config_text = render_config.render(self.settings)
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
                "start the collector (docker compose up, or scripts/demo for a local run)",
            )
        return Check("collector health", status == 200, f"{url} answered {status}")

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
                if error.status in (401, 403):
                    return Check(
                        "canary in OpenObserve",
                        False,
                        f"OpenObserve answered {error.status} to the search",
                        "OPENOBSERVE_AUTH_TOKEN is wrong for OPENOBSERVE_ORG: "
                        "the collector's exports are being rejected too",
                    )
                raise
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


def send_canary(name: str, settings: dict[str, Any]) -> None:
    """One span through the collector's OTLP/gRPC receiver, with the SDK's own exporter."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "doctor"}))
    endpoint = f"http://127.0.0.1:{settings['COLLECTOR_OTLP_GRPC_PORT']}"
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
