"""The part of OpenObserve's search API (`POST /api/{org}/_search?type=traces`) tools use.

Supported SQL, case-insensitive keywords:
    SELECT * | col[, col...] FROM "stream"
      [WHERE cond [AND cond ...]] [ORDER BY col [ASC|DESC]] [LIMIT n]
    cond: col = 'text' | col != 'text' | col = number | col IS [NOT] NULL
Rows are limited to `_timestamp` within [start_time, end_time) (microseconds), as
OpenObserve does. Anything else is a ValueError, answered as 400.
"""

from __future__ import annotations

import re
from typing import Any

_QUERY = re.compile(
    r"""^\s*SELECT\s+(?P<projection>.+?)\s+FROM\s+"?(?P<stream>[A-Za-z0-9_:]+)"?
        (?:\s+WHERE\s+(?P<where>.+?))?
        (?:\s+ORDER\s+BY\s+(?P<order>[a-z0-9_]+)(?:\s+(?P<direction>ASC|DESC))?)?
        (?:\s+LIMIT\s+(?P<limit>\d+))?\s*;?\s*$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
_CONDITION = re.compile(
    r"""^(?P<column>[a-z0-9_]+)\s*(?:
        (?P<op>!=|=)\s*(?:'(?P<text>(?:[^']|'')*)'|(?P<number>-?\d+(?:\.\d+)?))
        |\s+IS\s+(?P<negate>NOT\s+)?NULL)$""",
    re.IGNORECASE | re.VERBOSE,
)


def _conditions(where: str | None) -> list[tuple[str, str, Any]]:
    if not where:
        return []
    parsed = []
    for part in re.split(r"\s+AND\s+", where.strip(), flags=re.IGNORECASE):
        match = _CONDITION.match(part.strip())
        if match is None:
            raise ValueError(f"unsupported condition: {part.strip()}")
        if match["op"]:
            value = (
                match["text"].replace("''", "'") if match["text"] is not None else match["number"]
            )
            parsed.append((match["column"], match["op"], value))
        else:
            parsed.append((match["column"], "not null" if match["negate"] else "null", None))
    return parsed


def _matches(row: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    for column, op, value in conditions:
        have = row.get(column)
        if op == "null" and have is not None:
            return False
        if op == "not null" and have is None:
            return False
        if op in ("=", "!=") and (str(have) == str(value)) != (op == "="):
            return False
    return True


def run_sql(query: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    match = _QUERY.match(query.get("sql", ""))
    if match is None:
        raise ValueError(f"unsupported SQL: {query.get('sql', '')!r}")
    start, end = int(query.get("start_time", 0)), int(query.get("end_time", 2**63 - 1))
    conditions = _conditions(match["where"])
    rows = [
        row
        for row in tables.get(match["stream"], [])
        if start <= row["_timestamp"] < end and _matches(row, conditions)
    ]
    if match["order"]:
        descending = (match["direction"] or "").upper() == "DESC"
        rows.sort(key=lambda row: str(row.get(match["order"], "")), reverse=descending)
    if match["limit"]:
        rows = rows[: int(match["limit"])]
    size = int(query.get("size", 0) or 0)
    start_at = int(query.get("from", 0) or 0)
    rows = rows[start_at : start_at + size] if size > 0 else rows[start_at:]
    projection = match["projection"].strip()
    if projection == "*":
        return [dict(row) for row in rows]
    columns = [c.strip() for c in projection.split(",")]
    return [{c: row.get(c) for c in columns} for row in rows]
