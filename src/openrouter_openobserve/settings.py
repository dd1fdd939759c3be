"""The bundle's settings: read from `.env` (real environment variables win), validated.

Every key is declared once in `SETTINGS` with its default, what it expects and a
parser. A bad value raises `SettingsError`, whose message is one line naming the
key and what is expected; secret values are never echoed back.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from openrouter_openobserve.content_policy import invalid_extra_name

CONTENT_POLICIES = ("full", "redacted", "metadata")


class SettingsError(ValueError):
    """One invalid setting; str() is the one-line message shown to users."""

    def __init__(self, key: str, expected: str, shown: str | None = None) -> None:
        got = "" if shown is None else f", got {shown}"
        super().__init__(f"{key}: expected {expected}{got}")
        self.key = key


class InvalidSettings(SettingsError):
    """Every invalid setting of a file at once; str() has one line per setting."""

    def __init__(self, errors: list[SettingsError]) -> None:
        ValueError.__init__(self, "\n".join(str(error) for error in errors))
        self.key = errors[0].key
        self.errors = errors


@dataclass(frozen=True)
class Setting:
    key: str
    default: str | None  # None: the key is required
    expected: str
    parse: Callable[[str], Any]
    secret: bool = False
    doc: str = ""  # .env.example's comment; its first sentence is the README table's
    # Only needed where spans are exported to OpenObserve (not on an agent with gateways).
    exporter_only: bool = False
    # The collector process reads it as ${env:KEY}: Compose and the Helm values pass it.
    collector_env: bool = False
    example: str | None = None  # what .env.example sets, when not the default
    example_commented: bool = False  # .env.example shows it as a comment (unset)


def _fail(message: str) -> None:
    raise ValueError(message)


def parse_url(value: str) -> str:
    """Scheme, host, optional port and path prefix; returned without trailing slash."""
    if any(ch.isspace() for ch in value):
        _fail("no whitespace")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        _fail("a scheme http:// or https://")
    if not parts.hostname:
        _fail("a host")
    if parts.username or parts.password:
        _fail("no credentials in the URL (use OPENOBSERVE_AUTH_TOKEN)")
    if parts.query or parts.fragment:
        _fail("no query or fragment")
    try:
        port = parts.port
    except ValueError:
        _fail("a numeric port from 1 to 65535")
    if port == 0:
        _fail("a numeric port from 1 to 65535")
    if not re.fullmatch(r"[A-Za-z0-9._~/%-]*", parts.path):
        _fail("a plain path prefix")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def parse_org(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        _fail("an organisation id of 1-64 letters, digits, '_' or '-'")
    return value


def parse_basic_token(value: str) -> str:
    if not value.startswith("Basic "):
        _fail("'Basic ' followed by base64 of email:password")
    try:
        decoded = base64.b64decode(value[len("Basic ") :], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        _fail("'Basic ' followed by valid base64 of email:password")
    email, sep, password = decoded.partition(":")
    if not sep or "@" not in email or not password:
        _fail("'Basic ' followed by base64 of email:password (an e-mail, a colon, a password)")
    return value


def parse_stream(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_:]{1,128}", value):
        # format_stream_name (config/src/utils/schema.rs): each run of other characters
        # becomes one '_', then lowercase.
        stored = re.sub(r"[^a-zA-Z0-9_:]+", "_", value).lower()[:40]
        _fail(f"lowercase letters, digits, '_' or ':' (OpenObserve would store '{stored}')")
    return value


def parse_bind_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        _fail("an IP address such as 127.0.0.1 (0.0.0.0 only inside a container network)")
    raise AssertionError("unreachable")


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            _fail("one of " + ", ".join(choices))
        return value

    return parse


parse_policy = parse_choice(*CONTENT_POLICIES)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"[0-9]{1,9}", value) or not low <= int(value) <= high:
            _fail(f"a whole number from {low} to {high}")
        return int(value)

    return parse


def parse_directory(value: str) -> str:
    if not value or any(ord(ch) < 32 or ch in "\"'`$\\" for ch in value):
        _fail("a directory path without control characters, quotes, '$' or '\\'")
    path = Path(value)
    try:
        exists_as_file = path.exists() and not path.is_dir()
    except OSError:  # a name longer than the system allows, say
        _fail("a directory path this system accepts")
    if exists_as_file:
        _fail("a directory (a file of that name exists)")
    return value


def parse_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value):
        _fail("1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def parse_log_level(value: str) -> str:
    if value not in ("info", "warn", "error"):
        # At debug level the transform processor logs whole spans before they are masked.
        _fail("one of info, warn, error (debug would log whole spans, secrets included)")
    return value


def parse_bool(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        _fail("true or false")
    return value.lower() == "true"


def parse_optional_url(value: str) -> str:
    return parse_url(value) if value else value


def parse_title(value: str) -> str:
    # It travels as an HTTP header (X-OpenRouter-Title): ASCII only.
    if len(value) > 100 or not value.isascii() or not value.isprintable():
        _fail("at most 100 printable ASCII characters (it is sent as an HTTP header)")
    return value


def parse_usd(value: str) -> str:
    """A positive amount of dollars, kept as written (it goes into SQL verbatim)."""
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,6})?", value) or float(value) <= 0:
        _fail("a positive amount in USD like 5 or 12.50")
    return value


def parse_optional_name(value: str) -> str:
    return parse_name(value) if value else value


# OpenObserve's EMAIL_REGEX (src/config/src/utils/str.rs): a root e-mail it refuses stops it.
OPENOBSERVE_EMAIL = re.compile(
    r"([a-zA-Z0-9_+\-]+(\.[a-zA-Z0-9_+\-]+)*)@([a-zA-Z0-9]+([\-\.][a-zA-Z0-9]+)*\.[a-zA-Z]{2,63})"
)


def parse_email(value: str) -> str:
    if not OPENOBSERVE_EMAIL.fullmatch(value):
        _fail("an e-mail address OpenObserve accepts (name@example.com: letters, digits, _+-.)")
    return value


def parse_root_password(value: str) -> str:
    """OpenObserve's `validate_password_strength` (src/config/src/utils/password.rs): 8-128
    characters with a lowercase and an uppercase ASCII letter, a digit and anything else."""
    if not value:
        return value
    classes = (str.islower, str.isupper, str.isdigit)
    has = [any(ch.isascii() and test(ch) for ch in value) for test in classes]
    has_special = any(not (ch.isascii() and ch.isalnum()) for ch in value)
    if not 8 <= len(value) <= 128 or not all(has) or not has_special or not value.isprintable():
        _fail(
            "8-128 printable characters with a lowercase and an uppercase letter, a digit "
            "and a special character (OpenObserve's password policy)"
        )
    return value


def parse_optional_basic_token(value: str) -> str:
    return parse_basic_token(value) if value else value


ROLES = ("agent", "gateway")


def parse_role(value: str) -> str:
    if value not in ROLES:
        _fail("agent or gateway")
    return value


def parse_gateways(value: str) -> list[str]:
    """host:port[,host:port...] (static), or dns:HOST:PORT (every address HOST resolves to,
    re-resolved as it changes: a Kubernetes headless service); empty: no gateways."""
    endpoints = [part.strip() for part in value.split(",") if part.strip()]
    if any(e.startswith("dns:") for e in endpoints) and len(endpoints) > 1:
        _fail("one dns:HOST:PORT, or a comma-separated list of host:port")
    for endpoint in endpoints:
        host, sep, port = endpoint.removeprefix("dns:").rpartition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", host):
            _fail("a comma-separated list of host:port, or dns:HOST:PORT")
        try:
            parse_port(port)
        except ValueError:
            _fail("host:port entries with ports from 1 to 65535")
    return endpoints


def parse_token(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z0-9._~+/=-]{16,256}", value):
        _fail("at least 16 characters of letters, digits or ._~+/=-")
    return value


def parse_file_path(value: str) -> str:
    if value and any(ord(ch) < 32 or ch in "\"'`$\\" for ch in value):
        _fail("a file path without control characters, quotes, '$' or '\\'")
    return value


def parse_openrouter_key(value: str) -> str:
    if value and not re.fullmatch(r"sk-or-[A-Za-z0-9_-]{8,}", value):
        _fail("an OpenRouter key 'sk-or-...' or nothing")
    return value


def parse_allowed_attributes(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    if any(invalid_extra_name(name) for name in names):
        _fail("comma-separated attribute names, or prefixes ending in .* (myapp.labels.*)")
    return names


parse_port = bounded_int(1, 65535)


@dataclass(frozen=True)
class Section:
    """A group of settings: one heading of `.env.example` and of the README's table."""

    title: str
    settings: tuple[Setting, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "OpenObserve (where the spans go)",
        (
            Setting(
                "OPENOBSERVE_URL",
                "http://localhost:5080",
                "an http(s) URL: scheme, host, optional port and path prefix",
                parse_url,
                doc="OpenObserve's base URL: scheme, host, optional port and path prefix. Leave "
                "it unset for the embedded default: `docker compose up` then sends to its own "
                "OpenObserve service, and `scripts/demo` to a local ingest sink. Set it for "
                "OpenObserve Cloud or your own instance.",
                example="https://api.openobserve.ai",
                example_commented=True,
            ),
            Setting(
                "OPENOBSERVE_ORG",
                None,
                "an organisation id",
                parse_org,
                doc="Organisation id. OpenObserve creates an org other than `default` at its "
                "first ingestion; until then its API answers 404 (`provision` waits for it).",
                exporter_only=True,
                example="default",
            ),
            Setting(
                "OPENOBSERVE_AUTH_TOKEN",
                None,
                "'Basic ' + base64(email:password)",
                parse_basic_token,
                secret=True,
                exporter_only=True,
                collector_env=True,
                doc="Ingestion credential of the collector: the word Basic, a space and "
                "base64(email:secret), where the secret is what OpenObserve's Data sources / "
                "Ingestion page shows (your passcode), an org ingestion token (o2oi_...), or a "
                "password. Passcodes and o2oi_ tokens only work for ingestion. The example is "
                "the embedded OpenObserve's root user, base64 of "
                "root@example.com:Complexpass#123.",
                example="Basic cm9vdEBleGFtcGxlLmNvbTpDb21wbGV4cGFzcyMxMjM=",
            ),
            Setting(
                "OPENOBSERVE_API_TOKEN",
                "",
                "'Basic ' + base64(email:password) or nothing",
                parse_optional_basic_token,
                secret=True,
                doc="API credential of `doctor`, `provision` and `report` (search, dashboards, "
                "alerts): Basic, a space and base64(email:password) of a user of the org, or of "
                "a service account (email:token). Empty: OPENOBSERVE_AUTH_TOKEN, which works "
                "only when it holds a password.",
            ),
            Setting(
                "OPENOBSERVE_STREAM",
                "default",
                "a stream name",
                parse_stream,
                doc="Trace stream the spans land in (lowercase letters, digits, '_' or ':').",
            ),
            Setting(
                "OPENOBSERVE_LOGS_STREAM",
                "default",
                "a stream name",
                parse_stream,
                doc="Log stream the app's log records land in (lowercase letters, digits, '_' "
                "or ':'); metrics land in one stream per metric name.",
            ),
            Setting(
                "OPENOBSERVE_INGEST_WINDOW_HOURS",
                "5",
                "hours",
                bounded_int(1, 8760),
                doc="How old a span OpenObserve still accepts, in hours: the server's "
                "ZO_INGEST_ALLOWED_UPTO (the compose file gives the embedded OpenObserve 168). "
                "Spans older than this on arrival are dropped by the server, so an outage "
                "longer than this loses the oldest queued spans; `doctor` warns when the "
                "backlog nears it.",
                example_commented=True,
            ),
        ),
    ),
    Section(
        "The embedded OpenObserve (Compose only)",
        (
            Setting(
                "OPENOBSERVE_ROOT_EMAIL",
                "root@example.com",
                "an e-mail",
                parse_email,
                doc="Root user of the embedded OpenObserve; OPENOBSERVE_AUTH_TOKEN must be "
                "Basic and base64 of this e-mail and the password joined by ':'. OpenObserve "
                "refuses to start with an e-mail it does not accept.",
            ),
            Setting(
                "OPENOBSERVE_ROOT_PASSWORD",
                "",
                "a password",
                parse_root_password,
                secret=True,
                doc="Root password of the embedded OpenObserve: 8+ characters with a lowercase "
                "and an uppercase letter, a digit and a special character, or OpenObserve "
                "refuses to start.",
                example="Complexpass#123",
            ),
        ),
    ),
    Section(
        "GenAI names",
        (
            Setting(
                "GENAI_SEMCONV_NAMES",
                "both",
                "both, previous or latest",
                parse_choice("both", "previous", "latest"),
                doc="GenAI attributes the semantic conventions are renaming (cache writes: "
                "gen_ai.usage.cache_creation.input_tokens becomes "
                "gen_ai.usage.cache_write.input_tokens): write both, only the previous name, "
                "or only the latest.",
            ),
        ),
    ),
    Section(
        "Users",
        (
            Setting(
                "USER_ID_HASH",
                "false",
                "a flag",
                parse_bool,
                doc="Send user ids (user.id, from OpenInference's user.id, the request's "
                "`user`, gen_ai.user or Traceloop's association properties) as salted SHA-256 "
                "hashes only.",
            ),
            Setting(
                "USER_ID_HASH_SALT",
                "",
                "a token",
                parse_token,
                secret=True,
                collector_env=True,
                doc="The salt of USER_ID_HASH: 16+ letters, digits or ._~+/=- ; secret, and "
                "stable (a new salt makes new hashes). Required when USER_ID_HASH=true.",
            ),
        ),
    ),
    Section(
        "Collector",
        (
            Setting(
                "COLLECTOR_BIND_ADDRESS",
                "127.0.0.1",
                "an IP address",
                parse_bind_address,
                doc="Address the OTLP receivers bind to. 127.0.0.1 keeps them private to this "
                "host; Compose sets 0.0.0.0 inside its network. The health check, metrics and "
                "pprof stay on 127.0.0.1 unless this is 0.0.0.0 or ::, which they follow.",
            ),
            Setting(
                "COLLECTOR_OTLP_GRPC_PORT",
                "4317",
                "a port",
                parse_port,
                doc="OTLP/gRPC receiver port (apps export here).",
            ),
            Setting(
                "COLLECTOR_OTLP_HTTP_PORT",
                "4318",
                "a port",
                parse_port,
                doc="OTLP/HTTP receiver port.",
            ),
            Setting(
                "COLLECTOR_HEALTH_PORT",
                "13133",
                "a port",
                parse_port,
                doc="Health check port (`doctor` asks it).",
            ),
            Setting(
                "COLLECTOR_METRICS_PORT",
                "8888",
                "a port",
                parse_port,
                doc="Port of the collector's own Prometheus metrics (`doctor` reads the "
                "backlog there).",
            ),
            Setting(
                "COLLECTOR_PPROF_PORT",
                "0",
                "a port, or 0 for off",
                bounded_int(0, 65535),
                doc="Go's profiler (pprof) on this port, beside the metrics, to see where the "
                "collector spends its CPU (`go tool pprof http://127.0.0.1:PORT/debug/pprof/"
                "profile`); 0: off.",
            ),
            Setting(
                "COLLECTOR_QUEUE_DIR",
                "build/queue",
                "a directory",
                parse_directory,
                doc="Persistent sending queue, created owner-only (a relative path is from "
                "where the collector config is rendered).",
            ),
            Setting(
                "COLLECTOR_QUEUE_MAX_SPANS",
                "200000",
                "spans",
                bounded_int(1000, 100_000_000),
                doc="Capacity of the persistent queue, in spans (about 1-2 KB each on disk "
                "under the metadata policy). When it is full, new spans are refused; queued "
                "spans are never evicted. The derived metrics have a queue of the same "
                "capacity, in data points.",
            ),
            Setting(
                "COLLECTOR_RETRY_MAX_INTERVAL_S",
                "30",
                "seconds",
                bounded_int(1, 300),
                doc="Longest wait between export retries, in seconds. Retries never stop while "
                "the queue holds data, so an outage is ridden out up to the queue's capacity, "
                "and up to the server's ingest window (OPENOBSERVE_INGEST_WINDOW_HOURS) in age.",
            ),
            Setting(
                "COLLECTOR_MEMORY_LIMIT_MIB",
                "512",
                "MiB",
                bounded_int(64, 65536),
                doc="Memory budget of the collector in MiB: GOMEMLIMIT, with memory_limiter "
                "refusing data at 80% (the app's exporter retries).",
            ),
            Setting(
                "COLLECTOR_TELEMETRY_INTERVAL_S",
                "30",
                "seconds",
                bounded_int(1, 3600),
                doc="How often the collector reports its own metrics (queue size and capacity, "
                "refused and failed items) into its pipeline, on to OpenObserve.",
            ),
            Setting(
                "COLLECTOR_LOG_LEVEL",
                "info",
                "a log level",
                parse_log_level,
                doc="Collector log level: info, warn or error (not debug: at debug level the "
                "transform processor logs whole spans, secrets included, before they are "
                "masked).",
            ),
            Setting(
                "COLLECTOR_DEBUG_EXPORTER",
                "false",
                "a flag",
                parse_bool,
                doc="Also log one line per exported batch (span counts, never contents).",
            ),
            Setting(
                "COLLECTOR_DERIVED_METRICS",
                "true",
                "a flag",
                parse_bool,
                doc="Also derive metrics from the LLM spans (requests, latency, time to first "
                "token, tokens and spend per model and provider) and send them to "
                "OpenObserve's metrics ingest.",
            ),
        ),
    ),
    Section(
        'Scaling out (README "Scaling out")',
        (
            Setting(
                "COLLECTOR_ROLE",
                "agent",
                "a role",
                parse_role,
                doc="agent runs next to the app; gateway receives from agents, normalises and "
                "exports. `render-config --role` overrides it.",
            ),
            Setting(
                "COLLECTOR_GATEWAYS",
                "",
                "gateways",
                parse_gateways,
                doc="Agents only: gateways to load-balance to by trace id, "
                "host:port[,host:port...] or dns:HOST:PORT. Empty: the agent exports to "
                "OpenObserve itself (the single-collector setup).",
            ),
            Setting(
                "COLLECTOR_GATEWAY_TOKEN",
                "",
                "a token",
                parse_token,
                secret=True,
                collector_env=True,
                doc="Bearer token shared by agents and gateways (16+ characters; required with "
                "gateways).",
            ),
            Setting(
                "COLLECTOR_TLS_CERT_FILE",
                "",
                "a file path",
                parse_file_path,
                doc="Gateways: TLS certificate the agents connect to (gRPC sends the token only "
                "over TLS; scripts/make-dev-certs makes a dev CA).",
            ),
            Setting(
                "COLLECTOR_TLS_KEY_FILE",
                "",
                "a file path",
                parse_file_path,
                doc="Gateways: the certificate's private key.",
            ),
            Setting(
                "COLLECTOR_TLS_CA_FILE",
                "",
                "a file path",
                parse_file_path,
                doc="Agents: the CA that signed the gateways' certificates.",
            ),
        ),
    ),
    Section(
        "Dashboards and alerts (`provision`)",
        (
            Setting(
                "ALERT_DESTINATION",
                "",
                "an alert destination name or nothing",
                parse_optional_name,
                doc="Name of an existing OpenObserve alert destination (Management > Alert "
                "Destinations) the alerts notify. Empty: `provision` creates the dashboard and "
                "skips the alerts.",
            ),
            Setting(
                "ALERT_HOURLY_COST_USD",
                "5",
                "USD",
                parse_usd,
                doc="The hourly-cost alert fires when the spend of the last hour is above this, "
                "in USD.",
            ),
            Setting(
                "ALERT_BACKLOG_ITEMS",
                "10000",
                "items",
                bounded_int(1, 100_000_000),
                doc="The backlog alert fires when an exporter's queue grew over the last 15 "
                "minutes and holds more than this many items (a healthy queue holds about one "
                "batch, up to 5000).",
            ),
            Setting(
                "ALERT_USER_HOURLY_COST_USD",
                "1",
                "USD",
                parse_usd,
                doc="The per-user alert fires when one user's spend in the last hour is above "
                "this, in USD (user_id: see USER_ID_HASH).",
            ),
            Setting(
                "ALERT_UNRECONCILED_USD",
                "1",
                "USD",
                parse_usd,
                doc="The unreconciled-spend alert fires when untraced or unreconciled spend "
                "of the last day is above this, in USD.",
            ),
        ),
    ),
    Section(
        "Reconciling with OpenRouter's ledger (`reconcile`)",
        (
            Setting(
                "OPENROUTER_BASE_URL",
                "https://openrouter.ai/api/v1",
                "an http(s) URL",
                parse_url,
                doc="OpenRouter's API, where `reconcile` looks up generations and activity.",
            ),
            Setting(
                "OPENROUTER_MANAGEMENT_KEY",
                "",
                "a key",
                parse_openrouter_key,
                secret=True,
                doc="OpenRouter management key for the day's activity (`reconcile --date`). "
                "Empty: `reconcile` reconciles calls only.",
            ),
            Setting(
                "RECONCILE_INTERVAL_S",
                "300",
                "seconds",
                bounded_int(10, 86400),
                doc="How often `reconcile --watch` (Compose's reconcile service) runs.",
            ),
            Setting(
                "RECONCILE_MAX_RPS",
                "5",
                "requests per second",
                bounded_int(1, 100),
                doc="At most this many generation lookups a second.",
            ),
            Setting(
                "RECONCILE_STATE_FILE",
                ".reconcile-state.json",
                "a file path",
                parse_file_path,
                doc="Where `reconcile` keeps the generations it looked up and wrote, so none is "
                "looked up or counted twice.",
            ),
        ),
    ),
    Section(
        "What leaves the host",
        (
            Setting(
                "CONTENT_POLICY",
                "metadata",
                "a content policy",
                parse_policy,
                doc="full: prompts and completions kept (cut to CONTENT_MAX_BYTES). redacted: "
                "kept, with personal data (e-mail addresses, card numbers) masked. metadata: "
                "on spans of GenAI instrumentations only the attributes of an allow-list "
                '(README "What each policy lets out") leave the host; events keep only their '
                "names. Secrets (sk-or-... keys, bearer tokens) are masked under every policy.",
            ),
            Setting(
                "CONTENT_ALLOW_ATTRIBUTES",
                "",
                "attribute names or prefixes ending in .*",
                parse_allowed_attributes,
                doc="Under metadata, more attributes of GenAI spans to keep: comma-separated "
                "names, or prefixes ending in .* (myapp.labels.*).",
            ),
            Setting(
                "CONTENT_MAX_BYTES",
                "4096",
                "bytes",
                bounded_int(64, 1048576),
                doc="Byte limit for each kept prompt or completion value.",
            ),
        ),
    ),
    Section(
        "The app",
        (
            Setting(
                "OTEL_SERVICE_NAME",
                "openrouter-app",
                "a name",
                parse_name,
                doc="service.name of your app's spans.",
            ),
            Setting(
                "DEPLOYMENT_ENVIRONMENT",
                "development",
                "a name",
                parse_name,
                doc="deployment.environment.name (the collector adds it to spans that lack it).",
            ),
            Setting(
                "OPENROUTER_OFFLINE",
                "false",
                "a flag",
                parse_bool,
                doc="true: the example app talks to the bundled OpenRouter simulator, and its "
                "spans carry the resource attribute openrouter.simulated=true (column "
                "service_openrouter_simulated), so they never pass for real spend. Set your "
                "key below and false to call OpenRouter.",
                example="true",
            ),
            Setting(
                "OPENROUTER_API_KEY",
                "",
                "a key",
                parse_openrouter_key,
                secret=True,
                doc="OpenRouter key of the example app (required when OPENROUTER_OFFLINE is "
                "false), and the key `reconcile` looks generations up with.",
            ),
            Setting(
                "OPENROUTER_HTTP_REFERER",
                "",
                "a URL or nothing",
                parse_optional_url,
                doc="OpenRouter app attribution: your site's URL (HTTP-Referer).",
            ),
            Setting(
                "OPENROUTER_APP_TITLE",
                "",
                "a title",
                parse_title,
                doc="OpenRouter app attribution: your app's name (X-OpenRouter-Title).",
            ),
        ),
    ),
)
SETTINGS: tuple[Setting, ...] = tuple(s for section in SECTIONS for s in section.settings)

_BY_KEY = {setting.key: setting for setting in SETTINGS}
SECRET_KEYS = tuple(s.key for s in SETTINGS if s.secret)
COLLECTOR_ENV_KEYS = tuple(s.key for s in SETTINGS if s.collector_env)


def read_env(env_file: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`.env` values overlaid by the real environment (which wins), for our keys only."""
    file_values: dict[str, str | None] = {}
    if env_file is not None:
        try:
            file_values = dict(dotenv_values(env_file, interpolate=False, encoding="utf-8"))
            text = env_file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise SettingsError(
                str(env_file), "UTF-8 text", f"a non-UTF-8 byte at offset {error.start}"
            ) from None
        check_shell_readable(text, file_values, env_file)
    environ = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for key in _BY_KEY:
        if key in environ:
            raw[key] = environ[key]
        elif file_values.get(key) is not None:
            raw[key] = file_values[key] or ""
    return raw


def check_shell_readable(text: str, values: Mapping[str, str | None], env_file: Path) -> None:
    """Refuse a line that `set -a; . ./.env` would read differently from python-dotenv: an
    unquoted value with a space makes the shell run the rest as a command, `$` and backticks
    expand, `;`, `&` or `|` end the assignment. Each line is judged on its own (both readers
    let the last assignment of a key win: an override appended to a copied file is fine).
    The value is never echoed."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = ASSIGNMENT.match(line)
        if match is None or values.get(match["key"]) is None:
            continue
        own = dotenv_values(stream=io.StringIO(line + "\n"), interpolate=False).get(match["key"])
        if own is not None and shell_word(match["rest"]) != own:
            raise SettingsError(
                match["key"],
                f"a value the shell reads the same ({env_file} line {number}: quote it, "
                "KEY='...' or KEY=\"...\", so that `set -a; . ./.env` does not split or expand it)",
            )


ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<rest>.*)$")
_SHELL_SPECIAL = frozenset(";&|<>()`$")


def shell_word(rest: str) -> str | None:
    """The value POSIX sh assigns for `KEY=<rest>`, or None when the shell would do more than
    assign one literal word (split it, expand `$` or backticks, run or redirect something)."""
    word, i, quote = [], 0, ""
    while i < len(rest):
        ch = rest[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                word.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch in "$`":
                return None
            elif ch == "\\" and i + 1 < len(rest) and rest[i + 1] in '$`"\\':
                i += 1
                word.append(rest[i])
            else:
                word.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == "\\" and i + 1 < len(rest):
            i += 1
            word.append(rest[i])
        elif ch.isspace():
            tail = rest[i:].strip()
            return "".join(word) if not tail or tail.startswith("#") else None
        elif ch in _SHELL_SPECIAL:
            return None
        else:
            word.append(ch)
        i += 1
    return None if quote else "".join(word)


def _shown(setting: Setting, value: str) -> str:
    if setting.secret:
        return "(value hidden)"
    return repr(value if len(value) <= 60 else value[:57] + "...")


def validate(raw: Mapping[str, str]) -> dict[str, Any]:
    """Parse every setting; raises SettingsError naming each invalid one (InvalidSettings
    when there are several), and only then checks how valid values fit together."""
    settings: dict[str, Any] = {}
    errors: list[SettingsError] = []
    forwarding = _forwards(raw)
    for setting in SETTINGS:
        value = raw.get(setting.key)
        if value is None or (value == "" and setting.default is None):
            if setting.default is None and setting.exporter_only and forwarding:
                settings[setting.key] = None
                continue
            if setting.default is None:
                errors.append(SettingsError(setting.key, f"{setting.expected} (required, not set)"))
                continue
            value = setting.default
        try:
            settings[setting.key] = setting.parse(value)
        except ValueError as error:
            errors.append(SettingsError(setting.key, str(error), _shown(setting, value)))
    if errors:
        raise errors[0] if len(errors) == 1 else InvalidSettings(errors)
    _check_distinct_ports(settings)
    _check_gateway_token(settings)
    if settings["USER_ID_HASH"] and not settings["USER_ID_HASH_SALT"]:
        raise SettingsError("USER_ID_HASH_SALT", "a value when USER_ID_HASH is true (not set)")
    return settings


def _forwards(raw: Mapping[str, str]) -> bool:
    """An agent with gateways forwards to them and never talks to OpenObserve itself."""
    return raw.get("COLLECTOR_ROLE", "agent") == "agent" and bool(
        (raw.get("COLLECTOR_GATEWAYS") or "").strip()
    )


def _check_gateway_token(settings: Mapping[str, Any]) -> None:
    """Agents and gateways authenticate each other with a bearer token, over TLS (gRPC sends
    per-call credentials only on a secure channel): no token, no TLS, no traffic."""
    needed: tuple[str, ...] = ()
    if settings["COLLECTOR_ROLE"] == "gateway":
        needed = ("COLLECTOR_GATEWAY_TOKEN", "COLLECTOR_TLS_CERT_FILE", "COLLECTOR_TLS_KEY_FILE")
    elif settings["COLLECTOR_GATEWAYS"]:
        needed = ("COLLECTOR_GATEWAY_TOKEN", "COLLECTOR_TLS_CA_FILE")
    for key in needed:
        if not settings[key]:
            raise SettingsError(key, "a value when gateways are used (required, not set)")


def _check_distinct_ports(settings: Mapping[str, Any]) -> None:
    seen: dict[int, str] = {}
    for key in (s.key for s in SETTINGS if s.key.endswith("_PORT")):
        port = settings[key]
        if port in seen:
            raise SettingsError(key, f"a port not already used by {seen[port]}", str(port))
        seen[port] = key


def load(env_file: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return validate(read_env(env_file, environ))
