"""`render-config`: validation, atomic writes, no secrets in the output, a valid config."""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from openrouter_openobserve import content_policy
from openrouter_openobserve.render_config import main
from openrouter_openobserve.settings import SETTINGS
from openrouter_openobserve.testing.openobserve_emulator import flatten_key
from tests.contract import documented_columns
from tests.harness import COLLECTOR_BINARY, wait_for

TOKEN = "Basic " + base64.b64encode(b"root@example.com:S3cret-pass").decode()
OPENROUTER_KEY = "sk-or-v1-" + "a1" * 32
VALID = {
    "OPENOBSERVE_URL": "https://observe.example.com/o2/",
    "OPENOBSERVE_ORG": "acme",
    "OPENOBSERVE_AUTH_TOKEN": TOKEN,
    "OPENOBSERVE_STREAM": "llm_traces",
    "OPENROUTER_API_KEY": OPENROUTER_KEY,
}


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{key}='{value}'\n" for key, value in values.items()))
    return path


def render(tmp_path: Path, values: dict[str, str], *args: str, environ: dict | None = None):
    env_file = write_env(tmp_path / ".env", values)
    output = tmp_path / "collector.yaml"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["--env-file", str(env_file), "--output", str(output), *args],
        env={key: None for key in VALID} | (environ or {}),
    )
    return result, output


def exporter(config: dict) -> dict:
    return config["exporters"]["otlp_http/openobserve"]


def test_renders_endpoint_headers_and_pipeline(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(output.read_text())
    assert exporter(config)["endpoint"] == "https://observe.example.com/o2/api/acme"
    assert exporter(config)["headers"] == {
        "Authorization": "${env:OPENOBSERVE_AUTH_TOKEN}",
        "stream-name": "llm_traces",
    }
    assert exporter(config)["compression"] == "gzip"
    assert exporter(config)["sending_queue"]["batch"]["flush_timeout"] == "1s"
    assert exporter(config)["retry_on_failure"]["enabled"] is True
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert pipeline["processors"][0] == "memory_limiter"
    assert pipeline["exporters"] == ["otlp_http/openobserve", "signal_to_metrics/llm"]
    grpc = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert grpc == "127.0.0.1:4317"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "127.0.0.1:4318"
    assert config["extensions"]["health_check"]["endpoint"] == "127.0.0.1:13133"


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://localhost:5080", "http://localhost:5080/api/acme"),
        ("http://localhost:5080/", "http://localhost:5080/api/acme"),
        ("https://example.com//", "https://example.com/api/acme"),
        ("https://example.com/prefix/o2///", "https://example.com/prefix/o2/api/acme"),
    ],
)
def test_endpoint_never_has_a_double_slash(tmp_path: Path, url: str, endpoint: str) -> None:
    result, output = render(tmp_path, VALID | {"OPENOBSERVE_URL": url})
    assert result.exit_code == 0, result.output
    assert exporter(yaml.safe_load(output.read_text()))["endpoint"] == endpoint


def test_output_holds_no_secret_and_is_owner_only(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID)
    assert result.exit_code == 0
    text = output.read_text()
    for secret in (TOKEN, TOKEN.split()[1], "S3cret-pass", OPENROUTER_KEY):
        assert secret not in text
        assert secret not in result.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


def test_real_environment_overrides_the_env_file(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID, environ={"OPENOBSERVE_STREAM": "from_env"})
    assert result.exit_code == 0, result.output
    assert exporter(yaml.safe_load(output.read_text()))["headers"]["stream-name"] == "from_env"


def test_print_writes_to_stdout_and_no_file(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID, "--print")
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["receivers"]["otlp"]
    assert not output.exists()


INVALID = [
    ("missing org", {"OPENOBSERVE_ORG": None}, "OPENOBSERVE_ORG"),
    ("URL without scheme", {"OPENOBSERVE_URL": "localhost:5080"}, "OPENOBSERVE_URL"),
    ("URL with bad port", {"OPENOBSERVE_URL": "http://host:port"}, "OPENOBSERVE_URL"),
    ("token without Basic", {"OPENOBSERVE_AUTH_TOKEN": "cm9vdDpwYXNz"}, "OPENOBSERVE_AUTH_TOKEN"),
    (
        "token not email:password",
        {"OPENOBSERVE_AUTH_TOKEN": "Basic " + base64.b64encode(b"justauser").decode()},
        "OPENOBSERVE_AUTH_TOKEN",
    ),
    (
        "token not base64",
        {"OPENOBSERVE_AUTH_TOKEN": "Basic %%%notbase64"},
        "OPENOBSERVE_AUTH_TOKEN",
    ),
    ("non-numeric port", {"COLLECTOR_OTLP_GRPC_PORT": "43l7"}, "COLLECTOR_OTLP_GRPC_PORT"),
    ("port out of range", {"COLLECTOR_OTLP_HTTP_PORT": "70000"}, "COLLECTOR_OTLP_HTTP_PORT"),
    ("same port twice", {"COLLECTOR_OTLP_HTTP_PORT": "4317"}, "COLLECTOR_OTLP_HTTP_PORT"),
    ("unknown content policy", {"CONTENT_POLICY": "everything"}, "CONTENT_POLICY"),
    ("stream with spaces", {"OPENOBSERVE_STREAM": "llm traces"}, "OPENOBSERVE_STREAM"),
    ("bind address not an IP", {"COLLECTOR_BIND_ADDRESS": "everywhere"}, "COLLECTOR_BIND_ADDRESS"),
    ("queue dir with $", {"COLLECTOR_QUEUE_DIR": "/var/${env:HOME}"}, "COLLECTOR_QUEUE_DIR"),
    # OpenObserve would not start: validate_password_strength, EMAIL_REGEX.
    *(
        (f"root password {why}", {"OPENOBSERVE_ROOT_PASSWORD": value}, "OPENOBSERVE_ROOT_PASSWORD")
        for why, value in (
            ("too short", "Ab1#xyz"),
            ("without a special character", "Complexpass123"),
            ("without an uppercase letter", "complexpass#123"),
            ("without a digit", "Complexpass#"),
            ("too long", "Ab1#" * 33),
        )
    ),
    (
        "root e-mail without a domain",
        {"OPENOBSERVE_ROOT_EMAIL": "root@localhost"},
        "OPENOBSERVE_ROOT_EMAIL",
    ),
    ("API token without Basic", {"OPENOBSERVE_API_TOKEN": "cm9vdDpwYXNz"}, "OPENOBSERVE_API_TOKEN"),
    ("app title not ASCII", {"OPENROUTER_APP_TITLE": "Café Bot"}, "OPENROUTER_APP_TITLE"),
]


@pytest.mark.parametrize(("case", "change", "key"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_value_one_line_exit_2_old_file_intact(
    tmp_path: Path, case: str, change: dict, key: str
) -> None:
    output = tmp_path / "collector.yaml"
    output.write_text("previous: config\n")
    values = {k: v for k, v in (VALID | change).items() if v is not None}
    result, _ = render(tmp_path, values)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"render-config: {key}: expected ")
    assert output.read_text() == "previous: config\n"
    assert {p.name for p in tmp_path.iterdir()} == {"collector.yaml", ".env"}


def test_every_invalid_value_is_reported_each_on_its_line(tmp_path: Path) -> None:
    """A file with several bad values names each one, in the schema's order, secrets hidden."""
    change = {
        "OPENOBSERVE_ORG": None,
        "OPENOBSERVE_AUTH_TOKEN": "cm9vdDpwYXNz",
        "COLLECTOR_OTLP_GRPC_PORT": "43l7",
        "CONTENT_POLICY": "everything",
        "OPENROUTER_APP_TITLE": "Café Bot",
    }
    values = {k: v for k, v in (VALID | change).items() if v is not None}
    result, output = render(tmp_path, values)
    assert result.exit_code == 2 and not output.exists()
    lines = result.stderr.strip().splitlines()
    order = [s.key for s in SETTINGS if s.key in change]
    assert [line.split(":")[1].strip() for line in lines] == order, result.stderr
    assert all(line.startswith("render-config: ") and " expected " in line for line in lines)
    assert "cm9vdDpwYXNz" not in result.stderr


def test_readme_shows_what_render_config_prints(tmp_path: Path) -> None:
    """The README's sample of invalid values is what render-config prints for them."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("$ render-config\n", 1)[1].split("```", 1)[0]
    shown = block.strip().splitlines()
    change = {"OPENOBSERVE_AUTH_TOKEN": "cm9vdDpwYXNz", "CONTENT_POLICY": "none"}
    result, _ = render(tmp_path, VALID | change)
    assert result.stderr.strip().splitlines() == shown


def test_bad_token_is_not_echoed(tmp_path: Path) -> None:
    bad = "Basic " + base64.b64encode(b"nocolon-TOPSECRET").decode()
    result, _ = render(tmp_path, VALID | {"OPENOBSERVE_AUTH_TOKEN": bad})
    assert result.exit_code == 2
    assert bad.split()[1] not in result.stderr
    assert "(value hidden)" in result.stderr


def test_missing_env_file_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--env-file", str(tmp_path / "nope.env")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"render-config: --env-file: no such file: {tmp_path / 'nope.env'}"
    ]


def test_check_validates_with_the_built_collector(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID, "--check", "--collector", str(COLLECTOR_BINARY))
    assert result.exit_code == 0, result.output
    assert output.exists()


def test_check_reports_a_config_the_collector_rejects(tmp_path: Path) -> None:
    """A template change the collector cannot load fails --check, and writes nothing."""
    broken = tmp_path / "fake-collector"
    broken.write_text("#!/bin/sh\necho 'error decoding: unknown key' >&2\nexit 1\n")
    broken.chmod(0o755)
    result, output = render(tmp_path, VALID, "--check", "--collector", str(broken))
    assert result.exit_code == 2
    assert "collector validate failed: error decoding: unknown key" in result.stderr
    assert not output.exists()


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = shutil.which("render-config", path=str(Path(sys.executable).parent))
    assert script, "render-config is not on PATH: pip install -e ."
    env_file = write_env(tmp_path / ".env", VALID | {"OPENOBSERVE_ORG": ""})
    result = subprocess.run(
        [script, "--env-file", str(env_file), "--print"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("render-config: OPENOBSERVE_ORG: expected")


def test_env_example_documents_every_key_and_renders(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / ".env.example"
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example.read_text(), re.MULTILINE))
    assert documented == {setting.key for setting in SETTINGS}
    result = CliRunner().invoke(
        main,
        ["--env-file", str(example), "--check", "--print", "--collector", str(COLLECTOR_BINARY)],
        env={key: None for key in documented},
    )
    assert result.exit_code == 0, result.output


def added_attributes(config_text: str) -> list[str]:
    """Every attribute key the collector config sets on spans: `attributes[...]` in the span
    context, `span.attributes[...]` in the span-event context (where `attributes` are the
    event's own)."""
    target = {
        "span": r'set\(attributes\["([^"]+)"\]',
        "spanevent": r'set\(span\.attributes\["([^"]+)"\]',
    }
    keys = set()
    for processor in yaml.safe_load(config_text)["processors"].values():
        for group in processor.get("trace_statements", []):
            for statement in group["statements"]:
                keys.update(re.findall(target[group["context"]], statement))
    return sorted(keys)


def test_added_attributes_stay_distinct_after_openobserve_flattening(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID | {"CONTENT_POLICY": "full"})
    assert result.exit_code == 0
    keys = added_attributes(output.read_text())
    assert "gen_ai.usage.cost" in keys
    columns = {flatten_key(key): key for key in keys}
    assert len(columns) == len(keys), "two added attributes flatten to the same column"


def test_readme_documents_every_added_column(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID)
    assert result.exit_code == 0
    documented = documented_columns()
    added = {flatten_key(key) for key in added_attributes(output.read_text())}
    assert added <= documented, added - documented
    # Every documented column is produced by real traffic: test_span_contract.py checks that.


def test_gateway_role_needs_its_token_and_certificate(tmp_path: Path) -> None:
    result, _ = render(tmp_path, VALID, "--role", "gateway")
    assert result.exit_code == 2
    assert result.stderr.startswith("render-config: COLLECTOR_GATEWAY_TOKEN: expected")


def test_hashing_user_ids_needs_a_salt_that_stays_out_of_the_file(tmp_path: Path) -> None:
    result, _ = render(tmp_path, VALID | {"USER_ID_HASH": "true"})
    assert result.exit_code == 2
    assert result.stderr.startswith("render-config: USER_ID_HASH_SALT: expected a value")
    salt = "a-salt-of-the-test-0123"
    result, output = render(tmp_path, VALID | {"USER_ID_HASH": "true", "USER_ID_HASH_SALT": salt})
    assert result.exit_code == 0, result.output
    assert salt not in output.read_text() and "${env:USER_ID_HASH_SALT}" in output.read_text()


@pytest.mark.parametrize(
    ("policy", "processors"),
    [
        # Under metadata content never leaves the app's host: the agent applies the policy
        # (after normalise has read what it needs) before its queue and its exporter.
        (
            "metadata",
            [
                "transform/normalise_openinference",
                "transform/normalise_genai",
                "transform/one_session",
                "transform/bound_columns",
                "transform/privacy",
                "transform/mask_secrets",
            ],
        ),
        ("full", ["transform/mask_secrets"]),
    ],
)
def test_forwarding_agent_holds_no_openobserve_settings(
    tmp_path: Path, policy: str, processors: list[str]
) -> None:
    agent = {
        "COLLECTOR_GATEWAYS": "gw-1:4317,gw-2:4317",
        "COLLECTOR_GATEWAY_TOKEN": "a-long-shared-token",
        "COLLECTOR_TLS_CA_FILE": "/certs/ca.pem",
        "CONTENT_POLICY": policy,
    }
    result, output = render(tmp_path, agent)  # no OPENOBSERVE_ORG, no OpenObserve token
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(output.read_text())
    assert "OPENOBSERVE" not in output.read_text()
    exporter = config["exporters"]["loadbalancing/gateways"]
    assert exporter["routing_key"] == "traceID"
    assert exporter["resolver"]["static"]["hostnames"] == ["gw-1:4317", "gw-2:4317"]
    assert exporter["sending_queue"]["storage"] == "file_storage/queue"
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["processors"] == ["memory_limiter", "resource/environment", *processors]
    assert "signal_to_metrics/llm" not in pipeline["exporters"]  # the gateways derive them


def test_metrics_are_derived_where_spans_are_exported(tmp_path: Path) -> None:
    result, output = render(tmp_path, VALID)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(output.read_text())
    pipelines = config["service"]["pipelines"]
    assert "signal_to_metrics/llm" in pipelines["traces"]["exporters"]
    assert pipelines["metrics"] == {
        "receivers": ["otlp", "signal_to_metrics/llm"],  # the app's metrics, and the derived
        "processors": ["memory_limiter", "resource/environment"],
        "exporters": ["otlp_http/openobserve_metrics"],
    }
    metrics_exporter = config["exporters"]["otlp_http/openobserve_metrics"]
    assert metrics_exporter["endpoint"] == "https://observe.example.com/o2/api/acme"
    assert metrics_exporter["sending_queue"]["storage"] == "file_storage/queue"
    assert "stream-name" not in metrics_exporter["headers"]  # one stream per metric

    result, output = render(tmp_path, {**VALID, "COLLECTOR_DERIVED_METRICS": "false"})
    config = yaml.safe_load(output.read_text())
    assert "connectors" not in config
    assert config["service"]["pipelines"]["metrics"]["receivers"] == ["otlp"]

    agent = {
        **VALID,
        "COLLECTOR_GATEWAYS": "gw-1:4317",
        "COLLECTOR_GATEWAY_TOKEN": "a-long-shared-token",
        "COLLECTOR_TLS_CA_FILE": "/certs/ca.pem",
    }
    result, output = render(tmp_path, agent)  # the gateways derive them, once per span
    assert "connectors" not in yaml.safe_load(output.read_text())


def test_logs_and_metrics_go_where_spans_go(tmp_path: Path) -> None:
    """The app's log records and metrics: to OpenObserve's logs (in OPENOBSERVE_LOGS_STREAM)
    and metrics ingest, or from a forwarding agent to the gateways, each with a disk queue;
    the collector pushes its own metrics into its OTLP/HTTP receiver."""
    result, output = render(tmp_path, {**VALID, "OPENOBSERVE_LOGS_STREAM": "app_logs"})
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(output.read_text())
    logs = config["exporters"]["otlp_http/openobserve_logs"]
    assert logs["endpoint"] == "https://observe.example.com/o2/api/acme"
    assert logs["headers"]["stream-name"] == "app_logs"
    assert logs["sending_queue"]["storage"] == "file_storage/queue"
    assert config["service"]["pipelines"]["logs"]["exporters"] == ["otlp_http/openobserve_logs"]
    (reader,) = [r for r in config["service"]["telemetry"]["metrics"]["readers"] if "periodic" in r]
    assert reader["periodic"]["exporter"]["otlp"]["endpoint"] == "http://127.0.0.1:4318/v1/metrics"

    agent = {
        **VALID,
        "COLLECTOR_GATEWAYS": "gw-1:4317",
        "COLLECTOR_GATEWAY_TOKEN": "a-long-shared-token",
        "COLLECTOR_TLS_CA_FILE": "/certs/ca.pem",
    }
    result, output = render(tmp_path, agent)
    config = yaml.safe_load(output.read_text())
    pipelines = config["service"]["pipelines"]
    assert pipelines["logs"]["exporters"] == ["loadbalancing/gateways"]
    assert pipelines["metrics"]["exporters"] == ["loadbalancing/gateways_metrics"]
    metrics = config["exporters"]["loadbalancing/gateways_metrics"]
    assert metrics["routing_key"] == "service"
    assert metrics["sending_queue"]["storage"] == "file_storage/queue"


@pytest.mark.parametrize(
    ("bind", "receiver", "health"),
    [
        ("::1", "[::1]:4317", "127.0.0.1:13133"),
        ("::", "[::]:4317", "[::]:13133"),
        ("127.0.0.1", "127.0.0.1:4317", "127.0.0.1:13133"),
    ],
)
def test_ipv6_bind_addresses_render_valid_endpoints(
    tmp_path: Path, bind: str, receiver: str, health: str
) -> None:
    result, output = render(tmp_path, {**VALID, "COLLECTOR_BIND_ADDRESS": bind}, "--check")
    assert result.exit_code == 0, result.stderr
    config = yaml.safe_load(output.read_text())
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == receiver
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == receiver[:-4] + "4318"
    assert config["extensions"]["health_check"]["endpoint"] == health


def test_a_collector_bound_to_ipv6_loopback_delivers(
    emulator: Any, start_collector: Any, collector_env: dict[str, str]
) -> None:
    from openrouter_openobserve import settings as settings_mod
    from openrouter_openobserve.doctor import send_canary

    collector = start_collector({**collector_env, "COLLECTOR_BIND_ADDRESS": "::1"})
    assert collector.otlp_grpc_endpoint.startswith("http://[::1]:")
    send_canary("over IPv6", settings_mod.validate(collector.env))
    wait_for(lambda: emulator.rows("llm_traces", org="acme"), what="the span sent over IPv6")


def test_readme_shows_the_metadata_allow_list() -> None:
    """The README's allow-list is the one the collector applies (content_policy.py)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert content_policy.readme_table() in readme


@pytest.mark.parametrize("value", ["a b", "x.*.y", "myapp.*.*", 'bad"name', "*"])
def test_a_bad_allowed_attribute_is_one_line(tmp_path: Path, value: str) -> None:
    result, _ = render(tmp_path, VALID | {"CONTENT_ALLOW_ATTRIBUTES": f"team.name,{value}"})
    assert result.exit_code == 2
    assert result.stderr.startswith("render-config: CONTENT_ALLOW_ATTRIBUTES: expected")
    assert len(result.stderr.strip().splitlines()) == 1


def test_allowed_attributes_extend_the_list(tmp_path: Path) -> None:
    extra = {"CONTENT_ALLOW_ATTRIBUTES": "team.name, myapp.labels.*"}
    result, output = render(tmp_path, VALID | extra)
    assert result.exit_code == 0, result.output
    privacy = yaml.safe_load(output.read_text())["processors"]["transform/privacy"]
    statements = [s for group in privacy["trace_statements"] for s in group["statements"]]
    names = max((s for s in statements if s.startswith("keep_keys(attributes, [")), key=len)
    (families,) = [s for s in statements if s.startswith('keep_matching_keys(cache["families"]')]
    kept = set(re.findall(r'"([^"]+)"', names.removeprefix("keep_keys(attributes, ")))
    assert {"team.name", "gen_ai.request.model", "user.id"} <= kept
    assert not {"input.value", "output.value", "gen_ai.input.messages"} & kept
    family = re.compile(json.loads(families.split(", ", 1)[1].rstrip(")")).replace("$$", "$"))
    assert family.match("myapp.labels.tier") and family.match("gen_ai.usage.input_tokens")
    assert not family.match("myapp.labels") and not family.match("team.names")


def test_an_override_appended_to_the_example_wins(tmp_path: Path) -> None:
    """Both the shell and python-dotenv let the last assignment win: appending is how people
    change a copied file. A line the shell would misread is still refused, by its number."""
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    token = "OPENOBSERVE_AUTH_TOKEN='Basic cm9vdEBleGFtcGxlLmNvbTpwYXNzd29yZA=='\n"
    env_file = tmp_path / ".env"
    env_file.write_text(example + token + "OPENOBSERVE_ORG=team\nCONTENT_POLICY=full\n")
    output = tmp_path / "collector.yaml"
    result = CliRunner().invoke(main, ["--env-file", str(env_file), "--output", str(output)])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(output.read_text())
    assert config["exporters"]["otlp_http/openobserve"]["endpoint"].endswith("/api/team")
    assert "keep_keys" not in output.read_text()  # CONTENT_POLICY=full, as appended
    lines = env_file.read_text().splitlines()
    env_file.write_text("\n".join([*lines, "OTEL_SERVICE_NAME=my app"]) + "\n")
    result = CliRunner().invoke(main, ["--env-file", str(env_file), "--output", str(output)])
    assert result.exit_code == 2
    assert f"line {len(lines) + 1}:" in result.stderr and "my app" not in result.stderr
