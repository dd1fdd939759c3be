"""Security: nothing secret in files, logs or spans; owner-only files; hostile .env values
are rejected with one line or rendered harmlessly (property-based, through the collector's
own `validate`)."""

from __future__ import annotations

import base64
import re
import stat
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openrouter_openobserve.render_config import collector_validate, main, render
from openrouter_openobserve.settings import SETTINGS, SettingsError, validate
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import COLLECTOR_BINARY, Collector, run_app, wait_for

PASSWORD = "Pa55-W0rd-SECRET"
TOKEN = "Basic " + base64.b64encode(f"root@example.com:{PASSWORD}".encode()).decode()
OPENROUTER_KEY = "sk-or-v1-" + "5ec2e7" * 10  # the app's own key (Authorization header)
PROMPT_KEY = "sk-or-v1-" + "9a57ed" * 10  # a key a user pasted into a prompt
BASE = {"OPENOBSERVE_ORG": "acme", "OPENOBSERVE_AUTH_TOKEN": TOKEN}


def secrets_in(text: str, *, with_prompt_key: bool = True) -> list[str]:
    candidates = [TOKEN, TOKEN.split()[1], PASSWORD, OPENROUTER_KEY, OPENROUTER_KEY[9:]]
    if with_prompt_key:
        candidates += [PROMPT_KEY, PROMPT_KEY[9:]]
    return [secret for secret in candidates if secret in text]


def test_queue_and_config_files_are_owner_only(collector: Collector) -> None:
    assert stat.S_IMODE(collector.config_path.stat().st_mode) == 0o600
    queue = Path(collector.env["COLLECTOR_QUEUE_DIR"])
    wait_for(lambda: any(queue.iterdir()), what="the queue's files")
    assert stat.S_IMODE(queue.stat().st_mode) & 0o077 == 0
    for path in queue.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_collector_debug_logging_is_refused() -> None:
    """At debug level the transform processor logs whole spans before masking."""
    try:
        validate({**BASE, "COLLECTOR_LOG_LEVEL": "debug"})
    except SettingsError as error:
        assert "secrets included" in str(error)
    else:
        raise AssertionError("COLLECTOR_LOG_LEVEL=debug was accepted")


def test_no_secret_in_any_log_line(start_collector, simulator, tmp_path: Path) -> None:
    """The most verbose logging allowed everywhere; a rejected export; a key in a prompt."""
    with OpenObserveEmulator(password=PASSWORD) as emulator:
        collector = start_collector(
            {
                "OPENOBSERVE_URL": emulator.url,
                "OPENOBSERVE_ORG": "acme",
                "OPENOBSERVE_AUTH_TOKEN": TOKEN,
                "COLLECTOR_LOG_LEVEL": "info",
                "COLLECTOR_DEBUG_EXPORTER": "true",
                "CONTENT_POLICY": "full",
            }
        )
        emulator.fail(401, count=1)  # the first export is rejected and logged
        result = run_app(
            ["ask", f"is {PROMPT_KEY} my key?"],
            env={
                "OPENROUTER_API_KEY": OPENROUTER_KEY,
                "OPENROUTER_BASE_URL": simulator.base_url,
                "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
                "OPENAI_LOG": "debug",
                "OTEL_LOG_LEVEL": "debug",
            },
        )
        assert result.returncode == 0, result.stderr
        # The second call must not share the first one's (rejected) batch.
        wait_for(
            lambda: any(r.status == 401 for r in emulator.requests), what="the rejected export"
        )
        run_app(
            ["ask", "second"],
            env={
                "OPENROUTER_API_KEY": OPENROUTER_KEY,
                "OPENROUTER_BASE_URL": simulator.base_url,
                "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
            },
        )
        wait_for(lambda: emulator.rows("default", org="acme"), what="a stored span")
        stored = str(emulator.rows("default", org="acme"))
    collector.stop()
    assert "otlp_http/openobserve" in collector.log()  # the rejected export was logged
    assert secrets_in(collector.log()) == []
    # The app's own logs, at debug level, never show its key or the backend token (the
    # answer on stdout may echo the prompt: that is the user's text, not a log line).
    assert secrets_in(result.stderr + result.stdout, with_prompt_key=False) == []
    assert secrets_in(stored) == []


# --- hostile .env values -------------------------------------------------------------------

HOSTILE_FRAGMENTS = [
    "\n",
    "\r\n",
    "x\n  exporters:",
    "\n  debug: {}",
    "${env:OPENOBSERVE_AUTH_TOKEN}",
    "${OPENOBSERVE_AUTH_TOKEN}",
    "$$",
    '"',
    "'",
    "\\",
    "#",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "&anchor",
    "*alias",
    "!!python/object",
    "`id`",
    "$(id)",
    "; rm -rf /",
    "|",
    ">",
    "\x00",
    "\t",
    "é",
    "x" * 5000,
]
hostile = st.lists(
    st.one_of(st.sampled_from(HOSTILE_FRAGMENTS), st.text(string.printable, max_size=20)),
    min_size=1,
    max_size=4,
).map("".join)
keys = st.sampled_from([s.key for s in SETTINGS])


# Where a free-form setting lands in the rendered config (the collector's `$$` is a literal
# `$`, so that is how a `$` in a value must appear).
RENDERED_AT: dict[str, Callable[[dict[str, Any]], Any]] = {
    "OPENOBSERVE_STREAM": lambda c: c["exporters"]["otlp_http/openobserve"]["headers"][
        "stream-name"
    ],
    "DEPLOYMENT_ENVIRONMENT": lambda c: c["processors"]["resource/environment"]["attributes"][0][
        "value"
    ],
    "COLLECTOR_QUEUE_DIR": lambda c: c["extensions"]["file_storage/queue"]["directory"],
    "OPENOBSERVE_URL": lambda c: c["exporters"]["otlp_http/openobserve"]["endpoint"],
    "OPENOBSERVE_ORG": lambda c: c["exporters"]["otlp_http/openobserve"]["endpoint"],
}
# Settings that choose the config's shape on purpose; their values are closed sets.
SHAPING = {
    "COLLECTOR_ROLE",
    "COLLECTOR_GATEWAYS",
    "COLLECTOR_DERIVED_METRICS",
    "COLLECTOR_DEBUG_EXPORTER",
    "COLLECTOR_LOG_LEVEL",
    "CONTENT_POLICY",
}


def shape(node: Any, path: str = "") -> set[str]:
    """Every key path and list position of a parsed config: its structure, not its values."""
    if isinstance(node, dict):
        return {path} | {p for k, v in node.items() for p in shape(v, f"{path}/{k}")}
    if isinstance(node, list):
        return {path} | {p for i, v in enumerate(node) for p in shape(v, f"{path}[{i}]")}
    return {path}


def assert_rendered_safely(key: str, value: str, parsed: dict[str, Any], config_text: str) -> None:
    """Structure unchanged (every key path and list position, not only component names), no
    secret, no expansion of `${...}` from a value, and the value itself where it belongs."""
    config = yaml.safe_load(config_text)
    assert secrets_in(config_text) == []
    headers = config["exporters"]["otlp_http/openobserve"]["headers"]
    assert headers["Authorization"] == "${env:OPENOBSERVE_AUTH_TOKEN}"
    if key not in SHAPING:
        assert shape(config) == shape(yaml.safe_load(render(validate(BASE)))), key
    if key in RENDERED_AT:
        rendered = str(RENDERED_AT[key](config))
        expected = str(parsed[key])
        if key == "COLLECTOR_QUEUE_DIR":
            expected = str(Path(expected).absolute())
        assert expected.replace("$", "$$") in rendered, (key, value, rendered)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(key=keys, value=hostile)
# Accepted values full of YAML syntax: they must arrive as the same literal text.
@example(key="COLLECTOR_QUEUE_DIR", value="/tmp/q: {debug: x} #c [&anchor *alias]")
@example(key="COLLECTOR_QUEUE_DIR", value="/tmp/\n  debug: {}")
@example(key="OPENOBSERVE_STREAM", value="llm:traces")
@example(key="DEPLOYMENT_ENVIRONMENT", value="prod-eu.1")
def test_hostile_values_are_rejected_or_rendered_harmlessly(key: str, value: str) -> None:
    try:
        parsed = validate({**BASE, key: value})
    except SettingsError as error:
        message = str(error)
        # One line naming a key (the one given, or one it makes required, e.g. a token).
        assert "\n" not in message and re.match(r"^[A-Z][A-Z0-9_]+: expected ", message)
        assert secrets_in(message) == []
        return
    assert_rendered_safely(key, value, parsed, render(parsed))


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(key=keys, value=hostile)
def test_hostile_values_that_render_pass_the_collectors_validate(key: str, value: str) -> None:
    try:
        parsed = validate({**BASE, key: value})
    except SettingsError:
        return
    text = render(parsed)
    assert collector_validate(COLLECTOR_BINARY, text, {"OPENOBSERVE_AUTH_TOKEN": TOKEN}) is None


def test_non_utf8_env_file_is_one_line_exit_2(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"OPENOBSERVE_ORG=acme\nOPENOBSERVE_STREAM=\xff\xfe\n")
    output = tmp_path / "out.yaml"
    output.write_text("previous\n")
    result = CliRunner().invoke(main, ["--env-file", str(env_file), "--output", str(output)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "UTF-8" in result.stderr
    assert output.read_text() == "previous\n"
