"""The span contract's columns, as the README documents them, for tests that check what
queries may read."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from openrouter_openobserve.testing import openobserve_genai as genai

README = Path(__file__).resolve().parents[1] / "README.md"
# OpenObserve's own columns of every span row, and their types there (src/core/src/traces/mod.rs
# `handle_otlp_request`: `status_code` is the span status as a number).
BUILT_IN_COLUMNS: dict[str, pa.DataType] = {
    "trace_id": pa.string(),
    "span_id": pa.string(),
    "span_kind": pa.string(),
    "span_status": pa.string(),
    "operation_name": pa.string(),
    "start_time": pa.int64(),
    "end_time": pa.int64(),
    "duration": pa.int64(),
    "_timestamp": pa.int64(),
    "service_name": pa.string(),
    "reference_parent_span_id": pa.string(),
    "events": pa.string(),
    "status_code": pa.int64(),
    "status_message": pa.string(),
}


def documented_columns() -> set[str]:
    """Every column named in the first cell of the README's "What gets captured" table."""
    section = README.read_text().split("## What gets captured", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([a-z0-9_]+)`", cell)}


def contract_schema() -> dict[str, pa.DataType]:
    """The columns a span row may have, typed as OpenObserve stores them: attribute values as
    strings, except the token and cost columns its GenAI processor types as numbers."""
    typed = {name: pa.int64() for name in genai.INT64_COLUMNS}
    typed |= {name: pa.float64() for name in genai.FLOAT64_COLUMNS}
    columns = {name: typed.get(name, pa.string()) for name in documented_columns()}
    return {**columns, **BUILT_IN_COLUMNS}
