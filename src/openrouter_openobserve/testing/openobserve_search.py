"""OpenObserve's search API (`POST /api/{org}/_search?type=traces|metrics`), on DataFusion.

OpenObserve runs SQL with Apache DataFusion; so does the emulator, which makes every
query a dashboard, an alert or `report` sends parse and run as it would there:
GROUP BY, HAVING, CASE, CAST, approx_percentile_cont, ... plus OpenObserve's
`histogram(_timestamp)` function (time buckets sized to the query's window).

Rows are limited to `_timestamp` within [start_time, end_time) (microseconds) before the
SQL runs, as OpenObserve does. A stream's columns are those of all its rows, so a
column the stream has but the window lacks is NULL, not an error; a column the stream
never had is an error ("No field named ..."), answered as 400. A stream that does not
exist yet is an error too: 400 with error code 20002, as OpenObserve answers. Paging
(`from`, `size`) is the emulator's, after the SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from datafusion import SessionContext, udf

from openrouter_openobserve.testing.openobserve_management import StreamNotFound

# histogram()'s interval without an argument: `generate_histogram_interval` (v0.92.2
# src/search/src/sql/visitor/histogram_interval.rs, v0.91.5 under src/service/search/): the
# first row whose time range the query's reaches, (range, bucket) in seconds; else 10 s.
_HISTOGRAM_INTERVALS_S = (
    (24 * 60 * 3600, 86400),
    (24 * 30 * 3600, 43200),
    (24 * 28 * 3600, 21600),
    (24 * 21 * 3600, 10800),
    (24 * 15 * 3600, 7200),
    (6 * 3600, 3600),
    (2 * 3600, 60),
    (3600, 30),
    (1800, 15),
    (900, 10),
)
_TABLE_NOT_FOUND = re.compile(r"table '(?:[^'.]*\.)*(?P<table>[^'.]*)' not found")


def histogram_step_s(start_us: int, end_us: int) -> int:
    if (start_us, end_us) == (0, 0):
        return 3600
    span_s = (end_us - start_us) / 1_000_000
    return next((step for reach, step in _HISTOGRAM_INTERVALS_S if span_s >= reach), 10)


def _histogram(step_s: int) -> Any:
    step_us = step_s * 1_000_000

    def label(start_us: int) -> str:
        moment = dt.datetime.fromtimestamp(start_us / 1e6, dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    def buckets(timestamps: pa.Array) -> pa.Array:
        return pa.array(
            [None if t is None else label(t - t % step_us) for t in timestamps.to_pylist()],
            pa.string(),
        )

    return udf(buckets, [pa.int64()], pa.string(), "stable", name="histogram")


def stream_table(rows: list[dict[str, Any]]) -> pa.Table:
    """All of a stream's rows as one Arrow table: one column per field any row has."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(columns) if columns else pa.table({"_timestamp": pa.array([], pa.int64())})


def arrow_type_name(kind: pa.DataType) -> str:
    """The type names OpenObserve's schema API shows (Arrow's, as DataFusion spells them)."""
    if pa.types.is_integer(kind):
        return "Int64"
    if pa.types.is_floating(kind):
        return "Float64"
    if pa.types.is_boolean(kind):
        return "Boolean"
    return "Utf8"


def _in_window(table: pa.Table, start: int, end: int) -> pa.Table:
    if table.num_rows == 0 or "_timestamp" not in table.column_names:
        return table
    timestamps = table["_timestamp"]
    return table.filter(pc.and_(pc.greater_equal(timestamps, start), pc.less(timestamps, end)))


class SearchError(ValueError):
    """A query OpenObserve refuses: 400 with its ErrorCodes `code` and `get_message` text
    (src/infra/src/errors/mod.rs), the DataFusion error sorted as `From<DataFusionError>`
    in src/infra/src/errors/grpc.rs sorts it (v0.92.2; v0.91.5 the same codes)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    @classmethod
    def from_datafusion(cls, error: str) -> SearchError:
        first = error.splitlines()[0]
        if "SQL error: ParserError" in error:  # sqlparser refused it: SearchSQLNotValid
            return cls(20001, "Search SQL not valid")
        if "No field named" in error:
            return cls(20004, f"Search field not found: {first}")
        if "Invalid function " in error:
            return cls(20005, f"Search function not defined: {first}")
        return cls(20008, "Search SQL execute error")


def run_sql(query: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The hits of `query` (OpenObserve's `query` object) over `tables` (stream -> rows)."""
    sql = query.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("query.sql: expected an SQL statement")
    if not re.match(r"\s*(SELECT|WITH)\b", sql, re.IGNORECASE):
        raise SearchError(20001, "Search SQL not valid")  # only queries are searches
    start, end = int(query.get("start_time", 0)), int(query.get("end_time", 2**63 - 1))
    context = SessionContext()
    context.register_udf(_histogram(histogram_step_s(start, end)))
    for stream, rows in tables.items():
        context.from_arrow(_in_window(stream_table(rows), start, end), name=stream)
    try:
        return context.sql(sql).to_pylist()
    except Exception as error:  # DataFusion raises plain Exceptions with its message
        if match := _TABLE_NOT_FOUND.search(str(error)):
            raise StreamNotFound(match["table"]) from None
        raise SearchError.from_datafusion(str(error)) from None


def check_sql(sql: str, columns: dict[str, pa.DataType], stream: str) -> None:
    """Plan `sql` over a `stream` with exactly `columns`: ValueError names what is wrong
    (a syntax error, an unknown function, a column outside `columns`)."""
    context = SessionContext()
    context.register_udf(_histogram(60))
    empty = pa.table({name: pa.array([], kind) for name, kind in columns.items()})
    context.from_arrow(empty, name=stream)
    try:
        context.sql(sql).schema()
    except Exception as error:
        raise ValueError(str(error).splitlines()[0]) from None
