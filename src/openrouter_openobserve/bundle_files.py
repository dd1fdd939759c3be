"""The files the bundle ships beside its code: the repository's `collector/` folder, installed
as the package data `openrouter_openobserve.collector` (config template, the collector
distribution's ocb manifest, OpenObserve dashboards and alerts)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def collector_dir() -> Path:
    return Path(str(resources.files("openrouter_openobserve.collector")))
