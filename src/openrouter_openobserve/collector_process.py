"""Run the built collector as a child process: render, start, wait for health, stop.

Used by the demo, by `doctor` and by the integration tests, so all three run the collector
the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import yaml

from openrouter_openobserve import render_config, settings

# Absolute: collectors run in their own working directories.
COLLECTOR_BINARY = Path(os.environ.get("OTELCOL_BIN", render_config.DEFAULT_COLLECTOR)).absolute()

T = TypeVar("T")


class CollectorError(RuntimeError):
    """The collector could not be started, or did not become healthy in time."""


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on, never one this process handed out before: the
    kernel may offer a just-closed port again, and a collector needs several distinct ones."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for(
    probe: Callable[[], T], timeout_s: float = 20.0, interval_s: float = 0.1, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what or probe}")
        time.sleep(interval_s)


def collector_metric(port: int, name: str, labels: dict[str, str] | None = None) -> float:
    """Sum of the series of one of the collector's own metrics (its Prometheus endpoint on
    `port`) whose labels include `labels`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    wanted = [f'{key}="{value}"' for key, value in (labels or {}).items()]
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith(name + "{") and all(label in line for label in wanted)
    )


class Collector:
    """The built collector binary running a config rendered from `env` (a .env as a dict)."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        edit: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.workdir = workdir
        self.edit = edit  # benchmarks: change the rendered config (e.g. drop a processor)
        self.grpc_port, self.http_port = free_port(), free_port()
        self.health_port, self.metrics_port = free_port(), free_port()
        self.env = {
            "COLLECTOR_OTLP_GRPC_PORT": str(self.grpc_port),
            "COLLECTOR_OTLP_HTTP_PORT": str(self.http_port),
            "COLLECTOR_HEALTH_PORT": str(self.health_port),
            "COLLECTOR_METRICS_PORT": str(self.metrics_port),
            "COLLECTOR_QUEUE_DIR": str(workdir / "queue"),
            **env,
        }
        self.config_path = workdir / "collector.yaml"
        self.log_path = workdir / "collector.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def otlp_grpc_endpoint(self) -> str:
        address = render_config.client_address(self.env.get("COLLECTOR_BIND_ADDRESS", "127.0.0.1"))
        return "http://" + render_config.listen_endpoint(address, self.grpc_port)

    def render(self) -> dict[str, Any]:
        """Validate the settings and write the config; returns the settings."""
        parsed = settings.validate(self.env)
        text = render_config.render(parsed)
        if self.edit is not None:
            config = yaml.safe_load(text)
            self.edit(config)
            text = yaml.safe_dump(config, sort_keys=False)
        render_config.write_atomically(self.config_path, text)
        return parsed

    def start(self, wait: bool = True) -> Collector:
        if not COLLECTOR_BINARY.is_file():
            raise CollectorError(
                f"collector binary missing at {COLLECTOR_BINARY}: run scripts/build-collector"
            )
        parsed = self.render()
        # As `run-collector` runs it, with only PATH and the host name from outside.
        base = {
            "PATH": os.environ.get("PATH", ""),
            "HOSTNAME": self.env.get("HOSTNAME", "localhost"),
        }
        environ = render_config.collector_environment(parsed, base)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(COLLECTOR_BINARY), f"--config={self.config_path}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environ,
                cwd=self.workdir,
            )
        if wait:
            try:
                wait_for(self.healthy, timeout_s=30, what="the collector's health check")
            except TimeoutError as error:
                raise CollectorError(f"{error}; its log:\n{self.log()}") from None
        return self

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise CollectorError(f"collector exited with {self.process.returncode}:\n{self.log()}")
        try:
            url = f"http://127.0.0.1:{self.health_port}/"
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class PeakRss:
    """Samples a process's resident memory every 50 ms; `peak` in MiB."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self._process.memory_info().rss / 2**20
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
