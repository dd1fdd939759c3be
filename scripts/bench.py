"""Benchmarks (not part of the test suite): `python -m scripts.bench COMMAND`.

Every run is bounded in time, uses loopback only, and stops what it started. Figures go
to stdout as a Markdown section; `--write` also replaces that section in
docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click
import grpc
import psutil
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from openrouter_openobserve.collector_process import Collector, PeakRss, wait_for
from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator, kv

SIMULATOR_MODULE = "openrouter_openobserve.testing.openrouter_simulator"
ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"


# --- realistic spans --------------------------------------------------------------------


def chat_span_attributes(
    messages: int, output_bytes: int = 2048, client_hook: bool = True
) -> list[KeyValue]:
    """The attributes of one OpenRouter chat call in the app's setup: OpenInference's, and
    (`client_hook`) those openrouter_client() records from the answer."""
    conversation = [
        {"role": "user", "content": f"message {i} " + "x" * 80} for i in range(messages)
    ]
    request = {"model": "openai/gpt-4o-mini", "messages": conversation, "temperature": 0.2}
    content = "y" * output_bytes
    response = {
        "id": "gen-1732791234-abcdefghijklmnopqrst",
        "provider": "OpenAI",
        "model": "openai/gpt-4o-mini",
        "object": "chat.completion",
        "created": 1732791234,
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": 25 * messages,
            "completion_tokens": 400,
            "total_tokens": 25 * messages + 400,
            "cost": 0.000243,
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    recorded_by_client = [
        kv("server.address", "openrouter.ai"),
        kv("server.port", 443),
        kv("gen_ai.response.id", response["id"]),
        kv("openrouter.provider", response["provider"]),
        kv("openrouter.billed_cost", response["usage"]["cost"]),
        kv("openrouter.is_byok", False),
    ]
    return [
        *(recorded_by_client if client_hook else []),
        kv("llm.system", "openai"),
        kv("input.value", json.dumps(request)),
        kv("input.mime_type", "application/json"),
        kv("output.value", json.dumps(response)),
        kv("output.mime_type", "application/json"),
        kv("llm.invocation_parameters", '{"model": "openai/gpt-4o-mini", "temperature": 0.2}'),
        kv("llm.model_name", "openai/gpt-4o-mini"),
        kv("llm.token_count.prompt", 25 * messages),
        kv("llm.token_count.completion", 400),
        kv("llm.token_count.total", 25 * messages + 400),
        kv("llm.token_count.prompt_details.cache_read", 0),
        kv("llm.token_count.prompt_details.cache_write", 0),
        kv("llm.token_count.completion_details.reasoning", 0),
        kv("llm.finish_reason", "stop"),
        kv("openinference.span.kind", "LLM"),
    ]


def export_requests(
    total: int, batch: int, messages: int = 2, client_hook: bool = True
) -> Iterator[ExportTraceServiceRequest]:
    """`total` LLM spans in requests of `batch`, each span with its own ids."""
    attributes = chat_span_attributes(messages, client_hook=client_hook)
    now = time.time_ns()
    for first in range(0, total, batch):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [kv("service.name", "bench"), kv("telemetry.sdk.language", "python")]
        )
        scope = resource_spans.scope_spans.add()
        scope.scope.name = "openinference.instrumentation.openai"
        for number in range(first, min(first + batch, total)):
            span = scope.spans.add()
            span.trace_id = number.to_bytes(16, "big")
            span.span_id = (number + 1).to_bytes(8, "big")
            span.name = "ChatCompletion"
            span.kind = 1
            span.start_time_unix_nano = now
            span.end_time_unix_nano = now + 850_000_000
            span.attributes.extend(attributes)
        yield request


def prebuilt_requests(
    total: int, batch: int, messages: int = 2, client_hook: bool = True
) -> list[bytes]:
    """The requests of `export_requests`, serialized once: sending costs the load generator
    no protobuf work, so the collector is what limits a run."""
    requests = export_requests(total, batch, messages, client_hook)
    return [request.SerializeToString() for request in requests]


def raw_export(port: int) -> Callable[..., Any]:
    """OTLP/gRPC Export of already serialized requests."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")


# --- measuring the collector -------------------------------------------------------------


def drop_processors(*names: str) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        pipeline = config["service"]["pipelines"]["traces"]
        pipeline["processors"] = [p for p in pipeline["processors"] if p not in names]

    return edit


def combined(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        for each in edits:
            each(config)

    return edit


def drop_derived_metrics(config: dict[str, Any]) -> None:
    pipelines = config["service"]["pipelines"]
    pipelines.pop("metrics", None)
    traces = pipelines["traces"]
    traces["exporters"] = [e for e in traces["exporters"] if not e.startswith("signal_to_metrics")]
    config.pop("connectors", None)
    config["exporters"].pop("otlp_http/openobserve_metrics", None)


# --- reporting -------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores, {model}, {memory:.0f} GiB, Python {platform.python_version()}"


def write_section(title: str, body: str) -> None:
    """Replace (or add) the `## title` section of docs/benchmarks.md."""
    BENCHMARKS_MD.parent.mkdir(exist_ok=True)
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    heading = f"## {title}\n"
    section = heading + "\n" + body.strip() + "\n"
    if heading in text:
        before, rest = text.split(heading, 1)
        after = rest.split("\n## ", 1)
        text = before + section + ("\n## " + after[1] if len(after) == 2 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    BENCHMARKS_MD.write_text(text)


@click.group()
def main() -> None:
    """Measure the bundle; see docs/benchmarks.md for the figures and how they were made."""


def exporters_edit(**settings: Any) -> Callable[[dict[str, Any]], None]:
    """Set `settings` on every OTLP/HTTP exporter (`storage=None` drops the disk queue)."""

    def edit(config: dict[str, Any]) -> None:
        for name, exporter in config["exporters"].items():
            if not name.startswith("otlp_http/"):
                continue
            for key, value in settings.items():
                if key == "storage":
                    exporter["sending_queue"].pop("storage", None)
                else:
                    exporter[key] = value

    return edit


FULL = "full pipeline, as rendered by default (metadata policy)"
# The same pipeline on spans of an app whose OpenAI client is not openrouter_client(): the
# collector parses the response JSON for OpenRouter's fields.
WITHOUT_CLIENT_FIELDS = "full, spans without openrouter_client()'s fields (response JSON parsed)"
DURABLE_PASS_THROUGH = "durable pass-through: no processors, same gzip and disk queue"
NORMALISE = ("transform/normalise_openinference", "transform/normalise_genai")
PROCESSORS = (*NORMALISE, "transform/bound_columns", "transform/privacy")
STAGE_VARIANTS: dict[str, Callable[[dict[str, Any]], None] | None] = {
    FULL: None,
    WITHOUT_CLIENT_FIELDS: None,
    DURABLE_PASS_THROUGH: combined(
        drop_derived_metrics,
        drop_processors("memory_limiter", "resource/environment", "transform/mask_secrets"),
        drop_processors(*PROCESSORS),
    ),
    "pass-through, no disk queue, no gzip": combined(
        drop_derived_metrics,
        drop_processors("memory_limiter", "resource/environment", "transform/mask_secrets"),
        drop_processors(*PROCESSORS),
        exporters_edit(storage=None, compression="none"),
    ),
    "full without normalise (both dialects)": drop_processors(*NORMALISE),
    "full without transform/bound_columns": drop_processors("transform/bound_columns"),
    "full without transform/privacy": drop_processors("transform/privacy"),
    "full without transform/mask_secrets": drop_processors("transform/mask_secrets"),
    "full without derived metrics": drop_derived_metrics,
    "full with an in-memory queue": exporters_edit(storage=None),
    "full without gzip": exporters_edit(compression="none"),
}


@main.command()
@click.option("--spans", default=60_000, show_default=True, help="Spans per run.")
@click.option("--repeat", default=3, show_default=True, help="Runs per variant (interleaved).")
@click.option("--write", is_flag=True, help="Replace the section in docs/benchmarks.md.")
def stages(spans: int, repeat: int, write: bool) -> None:
    """Collector CPU per 10k realistic LLM spans: the default pipeline, a durable
    pass-through, and the pipeline without each stage in turn."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in STAGE_VARIANTS}
    for _ in range(repeat):  # interleaved, so drift on a noisy machine hits every variant
        for name, edit in STAGE_VARIANTS.items():
            hook = name != WITHOUT_CLIENT_FIELDS
            results[name].append(paced_load(spans, None, 200, 2, edit=edit, client_hook=hook))
            click.echo(f"{name}: {results[name][-1]}", err=True)
    cpu = {
        name: statistics.median(r["cpu_s_per_10k"] for r in runs) for name, runs in results.items()
    }
    baseline = cpu[DURABLE_PASS_THROUGH]
    lines = [
        f"Command: `python -m scripts.bench stages --spans {spans} --repeat {repeat}`  ",
        f"Machine: {machine()}  ",
        f"Spans: OpenInference chat spans of the app's setup (`setup_tracing()` and "
        f"`openrouter_client()`, ~2 KB `output.value`), prebuilt "
        f"OTLP/gRPC requests of 200 sent unpaced by {SENDERS} senders to one collector "
        f"exporting to the emulator in its own process; medians of {repeat} interleaved runs "
        f"of {spans} spans. A stage's cost is the full pipeline's CPU minus the CPU without it.",
        "",
        "| collector config | CPU s / 10k spans | ratio to durable pass-through | stage cost "
        "| stored spans/s | peak RSS MiB | lost |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        stage = f"{cpu[FULL] - cpu[name]:+.3f}" if name.startswith("full ") else ""
        lines.append(
            f"| {name} | {cpu[name]:.3f} | {cpu[name] / baseline:.2f} | {stage} | "
            f"{statistics.median(r['stored_rate'] for r in runs):.0f} | "
            f"{statistics.median(r['peak_rss_mib'] for r in runs):.0f} | "
            f"{sum(r['lost'] for r in runs)} |"
        )
    lines += [
        "",
        f"Full pipeline / durable pass-through, median CPU per 10k spans: "
        f"**{cpu[FULL] / baseline:.2f}**.",
    ]
    body = "\n".join(lines)
    click.echo(body)
    if write:
        write_section("Collector cost per stage", body)


# Where the CPU goes: a function in `go tool pprof -top -cum` output, and what it stands for.
PROFILE_STAGES = (
    ("trace.(*Receiver).Export", "receive path, processors included"),
    ("(*TracesRequest).UnmarshalProto", "OTLP decoding"),
    ("traces.(*Processor).ProcessTraces", "the transform processors"),
    ("NewParseJSONFactory", "of which ParseJSON (response JSON, request parameters)"),
    ("replaceAllPatterns[go.shape.*uint8].func1", "of which secret masking"),
    (
        "deleteMatchingKeys[go.shape.*uint8].func1",
        "of which the metadata allow-list",
    ),
    ("(*signalToMetrics).ConsumeTraces", "derived metrics (connector)"),
    ("(*fileStorageClient).Batch", "disk queue (bbolt)"),
    ("(*baseExporter).pushTraces", "export: marshal, gzip, HTTP"),
    ("compress/gzip.(*Writer).Write", "of which gzip"),
    ("runtime.gcBgMarkWorker", "garbage collection"),
)


@main.command()
@click.option("--spans", default=150_000, show_default=True, help="Spans sent, unpaced.")
@click.option("--seconds", default=4, show_default=True, help="Length of the CPU profile.")
@click.option("--write", is_flag=True, help="Replace the section in docs/benchmarks.md.")
def profile(spans: int, seconds: int, write: bool) -> None:
    """Profile the default pipeline with the collector's pprof extension: the share of its
    CPU each stage takes (needs the Go toolchain, as the collector build does)."""
    import subprocess
    import threading
    import urllib.request

    from openrouter_openobserve.collector_process import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        profile_file = Path(tmp) / "cpu.pprof"

        def grab() -> None:
            base = f"http://127.0.0.1:{port}/debug/pprof/"
            wait_for(lambda: _reachable(base), timeout_s=120, what="the collector's pprof")
            url = f"{base}profile?seconds={seconds}"
            with urllib.request.urlopen(url, timeout=seconds + 60) as response:
                profile_file.write_bytes(response.read())

        grabber = threading.Thread(target=grab)
        grabber.start()
        run = paced_load(spans, None, 200, 2, settings={"COLLECTOR_PPROF_PORT": str(port)})
        grabber.join()
        top = subprocess.run(
            ["go", "tool", "pprof", "-top", "-cum", "-nodecount=500", str(profile_file)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if os.environ.get("BENCH_PROFILE_TOP"):  # the whole table, for a closer look
            Path(os.environ["BENCH_PROFILE_TOP"]).write_text(top)
    lines = [
        f"Command: `python -m scripts.bench profile --spans {spans} --seconds {seconds}`  ",
        f"Machine: {machine()}  ",
        f"The default pipeline (metadata policy) under the `stages` load, {seconds} s of CPU "
        f"profile from the collector's pprof extension (`COLLECTOR_PPROF_PORT`): each row is "
        f"a function's cumulative share of the collector's CPU (\"of which\" rows are part "
        f"of the row they follow). The run: {run['cpu_s_per_10k']:.3f} CPU s per 10k spans, "
        f"{run['stored_rate']:.0f} spans/s stored, {run['lost']} lost.",
        "",
        "| stage | share of collector CPU | CPU s / 10k spans |",
        "|---|---|---|",
    ]
    for function, stage in PROFILE_STAGES:
        row = next((line for line in top.splitlines() if function in line), None)
        share = float(row.split()[4].rstrip("%")) if row else 0.0
        lines.append(f"| {stage} | {share:.1f}% | {share / 100 * run['cpu_s_per_10k']:.3f} |")
    body = "\n".join(lines)
    click.echo(body)
    if write:
        write_section("Where the collector's CPU goes", body)


# --- app-side cost -------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_driver(
    mode: str, calls: int, simulator: str, endpoint: str = "", auth: str = "", messages: int = 2
) -> dict[str, Any]:
    import subprocess

    result = subprocess.run(
        driver_command(mode, calls, simulator, endpoint, auth, messages),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        raise click.ClickException(f"{mode} driver failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


@contextlib.contextmanager
def app_bench_services() -> Iterator[tuple[str, Any, Collector]]:
    """For app-side runs: the simulator as its own process, a backend emulator, and a
    collector exporting to it. Yields (simulator URL, backend, collector); stops all three."""
    import subprocess
    import sys

    from tests.harness import free_port

    port = free_port()
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openrouter_openobserve.testing.openrouter_simulator",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    simulator_url = f"http://127.0.0.1:{port}/api/v1"
    try:
        with OpenObserveEmulator(ids_only=True) as backend, tempfile.TemporaryDirectory() as tmp:
            wait_for(lambda: _reachable(simulator_url + "/models"), what="the simulator")
            env = {
                "OPENOBSERVE_URL": backend.url,
                "OPENOBSERVE_ORG": "bench",
                "OPENOBSERVE_AUTH_TOKEN": backend.auth_token,
            }
            collector = Collector(Path(tmp), env).start()
            try:
                yield simulator_url, backend, collector
            finally:
                collector.stop()
    finally:
        simulator.terminate()
        simulator.wait()


def driver_command(
    mode: str,
    calls: int,
    simulator: str,
    endpoint: str,
    auth: str,
    messages: int = 2,
    warmup: int = 30,
) -> list[str]:
    """`python -m scripts.bench_app_driver ...` for one setup."""
    import sys

    return [
        sys.executable,
        "-m",
        "scripts.bench_app_driver",
        mode,
        "--calls",
        str(calls),
        "--warmup",
        str(warmup),
        "--messages",
        str(messages),
        "--simulator",
        simulator,
        "--endpoint",
        endpoint,
        "--auth",
        auth,
    ]


GUIDE = "guide: OpenInference + OTLP/HTTP to the backend, plain client"
BUNDLE = "bundle: setup_tracing + openrouter_client() + OTLP/gRPC to the collector"
BUNDLE_ABSENT = "bundle, collector absent"
BARE = "bare openai client"
INSTRUMENTOR = "OpenInference's instrumentor alone: spans recorded, never exported"


@main.command()
@click.option("--calls", default=300, show_default=True, help="Timed calls per run.")
@click.option("--repeat", default=5, show_default=True, help="Runs per setup (interleaved).")
@click.option("--write", is_flag=True, help="Replace the section in docs/benchmarks.md.")
def app(calls: int, repeat: int, write: bool) -> None:
    """App-side cost per call: bare client, the guide's direct export, this bundle."""
    from tests.harness import free_port

    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with app_bench_services() as (simulator_url, backend, collector):
        setups = {
            BARE: ("bare", ""),
            GUIDE: ("guide", f"{backend.url}/api/bench"),
            BUNDLE: ("bundle", collector.otlp_grpc_endpoint),
            BUNDLE_ABSENT: ("bundle", f"http://127.0.0.1:{free_port()}"),
            INSTRUMENTOR: ("instrumentor", ""),
        }
        for _ in range(repeat):  # interleaved: drift hits every setup alike
            for messages in (2, 20):
                for name, (mode, endpoint) in setups.items():
                    result = run_driver(
                        mode, calls, simulator_url, endpoint, backend.auth_token, messages
                    )
                    results.setdefault((name, messages), []).append(result)
                    cpu = result["cpu_us_per_call"]
                    click.echo(f"{name}, {messages} messages: {cpu:.0f} us", err=True)
    body = app_report(results, calls, repeat)
    click.echo(body)
    if write:
        write_section("App-side cost per call", body)


def app_report(
    results: dict[tuple[str, int], list[dict[str, Any]]], calls: int, repeat: int
) -> str:
    def cpu(name: str, messages: int) -> float:
        return statistics.median(r["cpu_us_per_call"] for r in results[(name, messages)])

    def wall(name: str, messages: int, fraction: float = 0.5) -> float:
        runs = results[(name, messages)]
        return statistics.median(percentile(r["wall_us"], fraction) for r in runs)

    lines = [
        f"Command: `python -m scripts.bench app --calls {calls} --repeat {repeat}`  ",
        f"Machine: {machine()}  ",
        f"Each setup runs in its own process: {calls} timed chat calls (after 30 warm-up "
        f"calls) against the OpenRouter simulator on loopback (its own process). CPU is the "
        f"app process's CPU time, export thread included (flushed before the clock stops). "
        f"Medians over {repeat} interleaved runs.",
        "",
        "| setup | messages | median wall µs | p99 wall µs | CPU µs/call | CPU / bare |",
        "|---|---|---|---|---|---|",
    ]
    for name, messages in results:
        lines.append(
            f"| {name} | {messages} | {wall(name, messages):.0f} | "
            f"{wall(name, messages, 0.99):.0f} | {cpu(name, messages):.0f} | "
            f"{cpu(name, messages) / cpu(BARE, messages):.2f} |"
        )
    lines.append("")
    for messages in (2, 20):
        added_guide = cpu(GUIDE, messages) - cpu(BARE, messages)
        added_bundle = cpu(BUNDLE, messages) - cpu(BARE, messages)
        added_floor = cpu(INSTRUMENTOR, messages) - cpu(BARE, messages)
        lines.append(
            f"- {messages} messages: CPU added per call over the bare client: guide "
            f"{added_guide:+.0f} µs, bundle {added_bundle:+.0f} µs, bundle / guide **"
            f"{added_bundle / added_guide:.2f}** (total CPU per call "
            f"{cpu(BUNDLE, messages) / cpu(GUIDE, messages):.2f}); with the collector absent "
            f"a call's median wall time differs by "
            f"{wall(BUNDLE_ABSENT, messages) - wall(BUNDLE, messages):+.0f} µs from the "
            f"collector-up run (exports never run in the call). OpenInference's instrumentor "
            f"alone adds {added_floor:+.0f} µs, **{added_floor / added_guide:.2f}** of the "
            f"guide's: no setup that runs it can add less."
        )
    return "\n".join(lines)


def _reachable(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


# --- pipeline capacity, scaling and recovery ------------------------------------------------


SENDERS = 4


class SinkProcess:
    """The OpenObserve emulator as its own process (ids only), so it never shares a GIL
    with the load generator."""

    def __init__(self) -> None:
        import subprocess
        import sys

        from tests.harness import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openrouter_openobserve.testing.openobserve_emulator",
                "--port",
                str(self.port),
                "--ids-only",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wait_for(lambda: _reachable(self.url + "/_emulator/stats"), what="the sink")

    @property
    def auth_token(self) -> str:
        return OpenObserveEmulator.basic_token("root@example.com", "Complexpass#123")

    def stats(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(self.url + "/_emulator/stats", timeout=5) as response:
            return json.load(response)

    def fail(self, status: int, seconds: float) -> None:
        import urllib.request

        body = json.dumps({"status": status, "seconds": seconds}).encode()
        request = urllib.request.Request(self.url + "/_emulator/fail", data=body)
        urllib.request.urlopen(request, timeout=5).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def paced_load(
    total: int,
    rate: float | None,
    batch: int,
    messages: int,
    outage_s: float = 0.0,
    edit: Callable[[dict[str, Any]], None] | None = None,
    settings: dict[str, str] | None = None,
    client_hook: bool = True,
) -> dict[str, float]:
    """`total` spans at `rate` spans/s (None: as fast as the collector takes them) through a
    fresh collector (.env `settings`, its rendered config changed by `edit`) into a sink
    process."""
    requests = prebuilt_requests(total, batch, messages, client_hook)
    sink = SinkProcess()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            collector = Collector(
                Path(tmp),
                {
                    "OPENOBSERVE_URL": sink.url,
                    "OPENOBSERVE_ORG": "bench",
                    "OPENOBSERVE_AUTH_TOKEN": sink.auth_token,
                    "COLLECTOR_RETRY_MAX_INTERVAL_S": "5",
                    **(settings or {}),
                },
                edit=edit,
            ).start()
            try:
                return _drive(collector, sink, requests, total, rate, batch, outage_s)
            finally:
                collector.stop()
    finally:
        sink.stop()


def _drive(
    collector: Collector,
    sink: SinkProcess,
    requests: list[bytes],
    total: int,
    rate: float | None,
    batch: int,
    outage_s: float,
) -> dict[str, float]:
    assert collector.process is not None
    process = psutil.Process(collector.process.pid)
    export = raw_export(collector.grpc_port)
    if outage_s:
        sink.fail(503, outage_s)
    before = process.cpu_times()
    started = time.perf_counter()
    with PeakRss(process.pid) as rss, ThreadPoolExecutor(SENDERS) as senders:
        # Several senders, like several app processes: one would wait on each answer.
        pending = []
        for number, request in enumerate(requests):
            if rate:
                time.sleep(max(0.0, started + number * batch / rate - time.perf_counter()))
            pending.append(senders.submit(export, request, timeout=30))
        for future in pending:
            future.result()
        sent_in = time.perf_counter() - started
        recovered_at = started + outage_s
        wait_for(
            lambda: sink.stats()["distinct_span_ids"] >= total,
            timeout_s=300,
            interval_s=0.1,
            what=f"{total} spans in the sink",
        )
        stored_at = time.perf_counter()
    after = process.cpu_times()
    stats = sink.stats()
    cpu = (after.user - before.user) + (after.system - before.system)
    return {
        "send_rate": total / sent_in,
        "lag_s": stored_at - started - sent_in,
        "drain_rate": total / max(1e-9, stored_at - max(recovered_at, started)),
        "stored_rate": total / (stored_at - started),
        "cpu_s_per_10k": cpu / total * 10_000,
        "peak_rss_mib": rss.peak,
        "lost": total - stats["distinct_span_ids"],
        "duplicated": stats["rows"] - stats["distinct_span_ids"],
    }


@main.command()
@click.option("--seconds", default=10, show_default=True, help="Seconds of load per step.")
@click.option("--write", is_flag=True, help="Replace the sections in docs/benchmarks.md.")
def pipeline(seconds: int, write: bool) -> None:
    """Capacity, cost at 1x/4x/16x load and 2/20/200 messages, drain after a 60 s outage."""
    header = f"Machine: {machine()}  \nSpans: OpenInference chat spans (~2 KB `output.value`), "
    header += f"OTLP/gRPC in requests of 200 from {SENDERS} concurrent senders, one collector "
    header += "(default config, metadata policy) "
    header += "exporting to the emulator running as its own process.\n\n"
    rows = [
        "| target spans/s | achieved | stored lag s | CPU s / 10k | peak RSS MiB | lost |",
        "|---|---|---|---|---|---|",
    ]
    sustained = 0
    for rate in (5000, 10000, 15000, 20000, 25000):
        result = paced_load(rate * seconds, rate, 200, 2)
        click.echo(f"capacity {rate}: {result}", err=True)
        ok = result["lost"] == 0 and result["send_rate"] >= 0.95 * rate and result["lag_s"] < 3
        sustained = rate if ok else sustained
        rows.append(
            f"| {rate} | {result['send_rate']:.0f} | {result['lag_s']:.1f} | "
            f"{result['cpu_s_per_10k']:.2f} | {result['peak_rss_mib']:.0f} | {result['lost']} |"
        )
    capacity = (
        header
        + "\n".join(rows)
        + (
            f"\n\nHighest rate sustained with zero loss (achieved ≥ 95% of target, all "
            f"stored within 3 s of the last send): **{sustained} spans/s**. The load "
            f"generator (prebuilt requests, {SENDERS} senders) and the emulator share the "
            f"2 cores."
        )
    )
    scaling_rows = [
        "| load | messages | spans/s | CPU s / 10k | peak RSS MiB | lost |",
        "|---|---|---|---|---|---|",
    ]
    for factor, rate in (("1x", 250), ("4x", 1000), ("16x", 4000)):
        result = paced_load(rate * seconds, rate, 200, 2)
        scaling_rows.append(
            f"| {factor} | 2 | {rate} | {result['cpu_s_per_10k']:.2f} | "
            f"{result['peak_rss_mib']:.0f} | {result['lost']} |"
        )
    for messages in (20, 200):
        result = paced_load(1000 * seconds, 1000, 200, messages)
        scaling_rows.append(
            f"| 4x | {messages} | 1000 | {result['cpu_s_per_10k']:.2f} | "
            f"{result['peak_rss_mib']:.0f} | {result['lost']} |"
        )
    scaling = header + "\n".join(scaling_rows)
    outage = paced_load(1000 * 70, 1000, 200, 2, outage_s=60)
    recovery = header + (
        f"1000 spans/s for 70 s; the backend answers 503 for the first 60 s. The 60,000 "
        f"spans queued during the outage and the 10,000 sent after it were all stored "
        f"{outage['lag_s']:.1f} s after the last send: the queue drains at "
        f"**{outage['drain_rate']:.0f} spans/s** or faster (lost {outage['lost']}, duplicated "
        f"{outage['duplicated']}, collector peak RSS {outage['peak_rss_mib']:.0f} MiB; retry "
        f"interval capped at 5 s for the run)."
    )
    command = f"Command: `python -m scripts.bench pipeline --seconds {seconds}`  \n"
    for title, body in (
        ("Pipeline capacity", capacity),
        ("How cost grows", scaling),
        ("Recovery after a 60 s outage", recovery),
    ):
        click.echo(f"## {title}\n\n{command}{body}\n")
        if write:
            write_section(title, command + body)


# --- scale-out: one gateway against two ---------------------------------------------------


def gateway_topology_run(gateways: int, rate: int, seconds: int) -> dict[str, float]:
    """One agent load-balancing over `gateways` gateways into a sink process."""
    import subprocess

    sink = SinkProcess()
    started: list[Collector] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            certs = Path(tmp) / "certs"
            subprocess.run(
                [str(ROOT / "scripts" / "make-dev-certs"), str(certs), "127.0.0.1"],
                check=True,
                capture_output=True,
            )
            token = "bench-shared-token-0123456789"
            for number in range(gateways):
                started.append(
                    Collector(
                        Path(tmp) / f"gateway-{number}",
                        {
                            "OPENOBSERVE_URL": sink.url,
                            "OPENOBSERVE_ORG": "bench",
                            "OPENOBSERVE_AUTH_TOKEN": sink.auth_token,
                            "COLLECTOR_ROLE": "gateway",
                            "COLLECTOR_GATEWAY_TOKEN": token,
                            "COLLECTOR_TLS_CERT_FILE": str(certs / "gateway.pem"),
                            "COLLECTOR_TLS_KEY_FILE": str(certs / "gateway.key"),
                        },
                    )
                )
            for collector in started:
                collector.workdir.mkdir()
                collector.start()
            agent = Collector(
                Path(tmp) / "agent",
                {
                    "COLLECTOR_GATEWAYS": ",".join(f"127.0.0.1:{g.grpc_port}" for g in started),
                    "COLLECTOR_GATEWAY_TOKEN": token,
                    "COLLECTOR_TLS_CA_FILE": str(certs / "ca.pem"),
                },
            )
            agent.workdir.mkdir()
            started.append(agent.start())
            processes = [psutil.Process(c.process.pid) for c in started if c.process]
            before = sum(sum(p.cpu_times()[:2]) for p in processes)
            total = rate * seconds
            result = _drive(agent, sink, prebuilt_requests(total, 200, 2), total, rate, 200, 0)
            after = sum(sum(p.cpu_times()[:2]) for p in processes)
            result["cpu_s_per_10k_all"] = (after - before) / total * 10_000
            return result
    finally:
        for collector in started:
            collector.stop()
        sink.stop()


@main.command()
@click.option("--seconds", default=10, show_default=True, help="Seconds of load per run.")
@click.option("--write", is_flag=True, help="Replace the section in docs/benchmarks.md.")
def gateways(seconds: int, write: bool) -> None:
    """Throughput through one agent and one gateway, then two gateways, side by side."""
    rows = [
        "| gateways | target spans/s | achieved | stored lag s | CPU s / 10k, all collectors "
        "| lost |",
        "|---|---|---|---|---|---|",
    ]
    for rate in (2000, 4000):
        for count in (1, 2):
            result = gateway_topology_run(count, rate, seconds)
            click.echo(f"{count} gateway(s) at {rate}: {result}", err=True)
            rows.append(
                f"| {count} | {rate} | {result['send_rate']:.0f} | {result['lag_s']:.1f} | "
                f"{result['cpu_s_per_10k_all']:.2f} | {result['lost']} |"
            )
    body = "\n".join(
        [
            f"Command: `python -m scripts.bench gateways --seconds {seconds}`  ",
            f"Machine: {machine()}  ",
            "One agent (limits, masking, loadbalancing exporter by trace id, TLS + bearer "
            "token) in front of one or two gateways (normalise, privacy, export), all on this "
            "machine with the load generator and the emulator: every process shares the same "
            "2 cores, so a second gateway adds work here rather than capacity; on separate "
            "hosts each gateway brings its own cores.",
            "",
            *rows,
        ]
    )
    click.echo(body)
    if write:
        write_section("Scale-out: one gateway and two", body)


@main.command("app-instructions")
@click.option("--write", is_flag=True, help="Replace the section in docs/benchmarks.md.")
def app_instructions(write: bool) -> None:
    """Instructions per call under valgrind's callgrind (repeatable where CPU time is not):
    each setup runs 100 and 300 calls; the difference over 200 calls is the per-call cost."""
    import re
    import subprocess

    counts: dict[str, dict[int, int]] = {}
    with (
        app_bench_services() as (simulator_url, backend, collector),
        tempfile.TemporaryDirectory() as tmp,
    ):
        setups = {
            BARE: ("bare", ""),
            GUIDE: ("guide", f"{backend.url}/api/bench"),
            BUNDLE: ("bundle", collector.otlp_grpc_endpoint),
        }
        for name, (mode, endpoint) in setups.items():
            for calls in (100, 300):
                out = Path(tmp) / f"callgrind.{mode}.{calls}"
                command = driver_command(
                    mode, calls, simulator_url, endpoint, backend.auth_token, warmup=10
                )
                result = subprocess.run(
                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    timeout=1200,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
                found = re.search(r"Collected : (\d+)", result.stderr)
                if found is None:
                    raise click.ClickException(f"callgrind: {result.stderr[-500:]}")
                counts.setdefault(name, {})[calls] = int(found.group(1))
                click.echo(f"{name}, {calls} calls: {found.group(1)}", err=True)
    per_call = {name: (c[300] - c[100]) / 200 for name, c in counts.items()}
    lines = [
        "Command: `python -m scripts.bench app-instructions`  ",
        f"Machine: {machine()}  ",
        "Instructions the app process executes per chat call (all its threads, the export "
        "thread included), counted by valgrind's callgrind: each setup runs 100 and then 300 "
        "calls (2 messages) against the simulator; the difference over 200 calls is one call's "
        "cost. Unlike CPU time, these counts repeat from run to run.",
        "",
        "| setup | instructions per call | ratio to bare |",
        "|---|---|---|",
        *(
            f"| {name} | {count:,.0f} | {count / per_call[BARE]:.2f} |"
            for name, count in per_call.items()
        ),
        "",
        f"Instructions added per call over the bare client, bundle / guide: **"
        f"{(per_call[BUNDLE] - per_call[BARE]) / (per_call[GUIDE] - per_call[BARE]):.2f}** "
        f"(total per call {per_call[BUNDLE] / per_call[GUIDE]:.2f}).",
    ]
    body = "\n".join(lines)
    click.echo(body)
    if write:
        write_section("App-side instructions per call", body)


if __name__ == "__main__":
    main()
