"""`render-config`: render the collector config from `.env` through the Jinja2 template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import click
import jinja2
import yaml

from openrouter_openobserve import content_policy, counting
from openrouter_openobserve import settings as settings_mod
from openrouter_openobserve.bundle_files import collector_dir
from openrouter_openobserve.masking import PERSONAL_DATA_PATTERNS, SECRET_PATTERNS

TEMPLATE_DIR = collector_dir()
TEMPLATE_NAME = "config.yaml.j2"
DEFAULT_OUTPUT = Path("build") / "collector.yaml"  # relative to where it runs
# Where scripts/build-collector puts the binary, relative to the checkout it runs in.
DEFAULT_COLLECTOR = Path("build") / "otelcol" / "otelcol-openrouter"

# Secrets the template references as ${env:...} (never as values): the schema's collector_env.
COLLECTOR_SECRET_KEYS = settings_mod.COLLECTOR_ENV_KEYS

# Exit status for invalid input, as click uses for usage errors.
EXIT_INVALID = 2


def yaml_quote(value: object) -> str:
    """A YAML double-quoted scalar the collector will not expand (`$` escaped as `$$`)."""
    return json.dumps(str(value), ensure_ascii=True).replace("$", "$$")


def ottl_string(value: object) -> str:
    """An OTTL string literal (for use inside a YAML plain scalar)."""
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'.replace("$", "$$")


# An LLM span is a call when a client instrumentation made it, unless the service's resource
# says the framework's spans are the calls (counting.py).
_CLIENT = f"IsMatch(instrumentation_scope.name, {ottl_string(counting.CLIENT_SCOPES)})"
_FRAMEWORK = 'resource.attributes["openrouter.llm_spans"] == "framework"'
COUNTED_CALL = f"(({_CLIENT} and not {_FRAMEWORK}) or (not {_CLIENT} and {_FRAMEWORK}))"
# No server.address, or OpenRouter's, or this machine's: a slug may then decide.
_ADDRESS = 'attributes["server.address"]'
NO_OTHER_HOST = (
    f"({_ADDRESS} == nil"
    f" or IsMatch({_ADDRESS}, {ottl_string(counting.OPENROUTER_ADDRESS)})"
    f" or IsMatch({_ADDRESS}, {ottl_string(counting.LOOPBACK_ADDRESS)}))"
)


# GENAI_SEMCONV_NAMES: the names cache writes are written under, the GenAI conventions being
# mid-rename (gen_ai.usage.cache_creation.input_tokens -> ...cache_write.input_tokens).
CACHE_WRITE_NAMES = {
    "previous": ["gen_ai.usage.cache_creation.input_tokens"],
    "latest": ["gen_ai.usage.cache_write.input_tokens"],
    "both": ["gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens"],
}


def template_context(settings: dict[str, Any]) -> dict[str, Any]:
    """Values the template needs beyond the raw settings, derived in one place."""
    memory = settings["COLLECTOR_MEMORY_LIMIT_MIB"]
    forwards = settings["COLLECTOR_ROLE"] == "agent" and bool(settings["COLLECTOR_GATEWAYS"])
    bind = settings["COLLECTOR_BIND_ADDRESS"]
    allowed_names, allowed_families = content_policy.allowed_names(
        settings["CONTENT_ALLOW_ATTRIBUTES"]
    )
    return {
        "s": settings,
        "openobserve_endpoint": f"{settings['OPENOBSERVE_URL']}/api/{settings['OPENOBSERVE_ORG']}"
        if not forwards
        else None,
        "queue_dir": str(Path(settings["COLLECTOR_QUEUE_DIR"]).absolute()),
        # Health and metrics follow the receivers onto a container network, else stay local.
        "monitoring_address": bind if bind in ("0.0.0.0", "::") else "127.0.0.1",
        # memory_limiter gets 80% of the budget: the Go runtime (GOMEMLIMIT) and the
        # bbolt page cache need the rest.
        "memory_limit_mib": memory * 4 // 5,
        "memory_spike_mib": memory // 5,
        "retry_max_elapsed": "0s",  # never give up: the persistent queue bounds what is held
        "secret_patterns": SECRET_PATTERNS,
        "metadata_names": allowed_names,
        "metadata_families": allowed_families,
        "removed_count": content_policy.REMOVED_COUNT,
        "genai_key_pattern": content_policy.GENAI_KEY_PATTERN,
        "genai_scope_pattern": content_policy.GENAI_SCOPE_PATTERN,
        "counted_call": COUNTED_CALL,
        "openrouter_address": counting.OPENROUTER_ADDRESS,
        "no_other_host": NO_OTHER_HOST,
        "cache_write_names": CACHE_WRITE_NAMES[settings["GENAI_SEMCONV_NAMES"]],
        "cache_write_names_dropped": [
            name
            for name in CACHE_WRITE_NAMES["both"]
            if name not in CACHE_WRITE_NAMES[settings["GENAI_SEMCONV_NAMES"]]
        ],
        "personal_data_patterns": PERSONAL_DATA_PATTERNS,
        # An agent with gateways forwards (under metadata, once the policy is applied);
        # everyone else exports.
        "forwards": forwards,
        "exports": not forwards,
        "processes_content": not forwards or settings["CONTENT_POLICY"] == "metadata",
        "derives_metrics": not forwards and settings["COLLECTOR_DERIVED_METRICS"],
        "uses_gateway_token": forwards or settings["COLLECTOR_ROLE"] == "gateway",
        "gateway_dns": _dns_gateway(settings["COLLECTOR_GATEWAYS"]),
        # The collector's own metrics go into its own OTLP/HTTP receiver, then the pipeline.
        "self_telemetry_endpoint": "http://"
        + listen_endpoint(client_address(bind), settings["COLLECTOR_OTLP_HTTP_PORT"])
        + "/v1/metrics",
        # A GenAI log event keeps its event name besides the span allow-list.
        "log_metadata_names": [*allowed_names, "event.name"],
    }


def listen_endpoint(address: str, port: int) -> str:
    """host:port for a listener; an IPv6 address in brackets ([::1]:4317)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def client_address(bind_address: str) -> str:
    """Where a local client reaches a listener bound to `bind_address`."""
    return "127.0.0.1" if bind_address in ("0.0.0.0", "::") else bind_address


def _dns_gateway(gateways: list[str]) -> tuple[str, str] | None:
    """(host, port) of a `dns:HOST:PORT` gateway setting, else None."""
    if len(gateways) == 1 and gateways[0].startswith("dns:"):
        host, _, port = gateways[0].removeprefix("dns:").rpartition(":")
        return host, port
    return None


def render(settings: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML, not HTML; literals go through the `q` filter
    )
    env.filters["q"] = yaml_quote
    env.filters["ottl"] = ottl_string
    env.globals["listen"] = listen_endpoint
    return env.get_template(TEMPLATE_NAME).render(template_context(settings))


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` in one step, owner-only: a failed run leaves the old file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def collector_validate(collector: Path, config_text: str, environ: dict[str, str]) -> str | None:
    """Run the built collector's `validate`; returns its complaint, or None when valid."""
    if not collector.is_file():
        return f"collector binary not found at {collector} (run scripts/build-collector)"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "collector.yaml"
        config.write_text(config_text, encoding="utf-8")
        result = subprocess.run(
            [str(collector), "validate", f"--config={config}"],
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
        )
    if result.returncode == 0:
        return None
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"


def fail(message: str, command: str = "render-config", status: int = EXIT_INVALID) -> NoReturn:
    """Each line of the message (one per invalid setting) on its own line, named."""
    for line in message.splitlines():
        click.echo(f"{command}: {line}", err=True)
    sys.exit(status)


def settings_or_exit(
    env_file: Path, role: str | None = None, command: str = "render-config"
) -> dict[str, Any]:
    """The validated settings of `env_file` (real environment variables win; `role`
    overrides COLLECTOR_ROLE), or a one-line error and exit status 2."""
    if env_file != Path(".env") and not env_file.is_file():
        fail(f"--env-file: no such file: {env_file}", command)
    try:
        raw = settings_mod.read_env(env_file if env_file.is_file() else None)
        if role is not None:
            raw["COLLECTOR_ROLE"] = role
        return settings_mod.validate(raw)
    except settings_mod.SettingsError as error:
        fail(str(error), command)


# Options that render-config and doctor share.
env_file_option = click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".env"),
    show_default=True,
    help="Settings file; real environment variables override its values.",
)
collector_option = click.option(
    "--collector",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_COLLECTOR,
    envvar="OTELCOL_BIN",
    show_default="build/otelcol/otelcol-openrouter",
    help="Collector binary that validates the config.",
)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@env_file_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT,
    show_default="build/collector.yaml",
    help="Where to write the collector config (atomically, mode 0600).",
)
@click.option("--print", "to_stdout", is_flag=True, help="Write the config to stdout instead.")
@click.option(
    "--role",
    type=click.Choice(settings_mod.ROLES),
    default=None,
    help="agent (next to the app; the default) or gateway. Overrides COLLECTOR_ROLE.",
)
@click.option(
    "--helm-values",
    is_flag=True,
    help="Write values for the official collector Helm chart around the config instead.",
)
@click.option("--check", is_flag=True, help="Also run the built collector's `validate` on it.")
@collector_option
def main(
    env_file: Path,
    output: Path,
    to_stdout: bool,
    role: str | None,
    helm_values: bool,
    check: bool,
    collector: Path,
) -> None:
    """Render the OpenTelemetry Collector config from .env.

    Every invalid setting is reported on one line naming the key; the exit status is
    then 2 and nothing is written.
    """
    settings = settings_or_exit(env_file, role)
    text = render(settings)
    if check:
        environ = {**os.environ, **collector_secrets(settings)}
        complaint = collector_validate(collector, text, environ)
        if complaint:
            fail(f"collector validate failed: {complaint}")
    if helm_values:
        from openrouter_openobserve.helm_values import (
            helm_values as values_for,  # it builds on this module
        )

        text = yaml.safe_dump(values_for(settings, text), sort_keys=False)
    if to_stdout:
        click.echo(text, nl=False)
        return
    write_atomically(output, text)
    click.echo(f"wrote {output}", err=True)


def collector_secrets(settings: dict[str, Any]) -> dict[str, str]:
    """The secrets the rendered file reads with ${env:...}: the collector's process needs
    them in its environment, and no others."""
    return {key: str(settings[key]) for key in COLLECTOR_SECRET_KEYS if settings.get(key)}


def collector_environment(settings: dict[str, Any], base: dict[str, str]) -> dict[str, str]:
    """The collector process's environment: `base`, the secrets the config reads with
    ${env:...}, and one memory budget (the Go runtime's soft limit; memory_limiter acts at
    80% of it)."""
    return {
        **base,
        **collector_secrets(settings),
        "GOMEMLIMIT": f"{settings['COLLECTOR_MEMORY_LIMIT_MIB']}MiB",
    }


if __name__ == "__main__":
    main()
