"""OpenObserve's dashboard, alert and alert-destination APIs, as far as `provision` uses them.

Faithful to OpenObserve's handlers and models:
- Dashboards (`/api/{org}/dashboards`, `?folder=` defaulting to `default`): bodies are
  parsed as their `version` says (this emulator knows version 5, whose required fields
  it checks like OpenObserve's serde models: 422 in plain text, `BodyRejected`); create
  answers the stored dashboard `{"v5": {...}, "version", "hash", "updatedAt"}`; update
  needs `?hash=` of the stored version (missing: 500, stale: 409); list answers
  `{"dashboards": [{dashboard_id, title, hash, ...}]}`.
- Alerts (`/api/v2/{org}/alerts`): name required, without spaces, `:#?&%'"` or `/`;
  `destinations` required and each must exist ("Alert destination X not found"); the
  stream must have data (404 "Stream X not found");
  names are not unique (a second create makes a second alert); list answers
  `{"list": [{alert_id, name, ...}]}`; delete answers 404 for an unknown id.
- Destinations (`/api/{org}/alerts/destinations`): list and create.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import jsonschema

DEFAULT_FOLDER = "default"
ALERT_NAME_FORBIDDEN = re.compile(r"[\s:#?&%'\"]")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BodyRejected(ApiError):
    """axum's `Json` extractor refusing a body before the handler runs (both releases take
    dashboards and alerts as `axum::Json<...>`): JSON that does not fit the model is 422,
    JSON that does not parse 400, each a plain-text line (axum 0.8 `JsonRejection`). The
    emulator's reason after the prefix is its own, not serde's wording."""

    def __init__(self, reason: str, syntax: bool = False) -> None:
        if syntax:
            super().__init__(400, f"Failed to parse the request body as JSON: {reason}")
        else:
            super().__init__(
                422, f"Failed to deserialize the JSON body into the target type: {reason}"
            )


class StreamNotFound(ValueError):
    """A search names a stream the org does not have: OpenObserve answers 400 with its error
    code 20002 "Search stream not found" (src/infra/src/errors/mod.rs `ErrorCodes`)."""


_AXIS_ITEM = {
    "type": "object",
    "required": ["label", "alias", "column"],
    "properties": {
        "label": {"type": "string"},
        "alias": {"type": "string"},
        "column": {"type": "string"},
        "color": {"type": ["string", "null"]},
    },
}
_QUERY = {
    "type": "object",
    "required": ["customQuery", "fields", "config"],
    "properties": {
        "query": {"type": ["string", "null"]},
        "vrlFunctionQuery": {"type": ["string", "null"]},
        "customQuery": {"type": "boolean"},
        "fields": {
            "type": "object",
            "required": ["stream", "stream_type", "x", "y", "filter"],
            "properties": {
                "stream": {"type": "string"},
                "stream_type": {"enum": ["logs", "metrics", "traces", "enrichment_tables"]},
                "x": {"type": "array", "items": _AXIS_ITEM},
                "y": {"type": "array", "items": _AXIS_ITEM},
                "z": {"type": "array", "items": _AXIS_ITEM},
                "breakdown": {"type": "array", "items": _AXIS_ITEM},
                "filter": {"type": "object"},
            },
        },
        "config": {
            "type": "object",
            "required": ["promql_legend"],
            "properties": {"promql_legend": {"type": "string"}},
        },
    },
}
_LAYOUT = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("x", "y", "w", "h", "i")},
}
_PANEL = {
    "type": "object",
    "required": ["id", "type", "title", "description", "config", "queries", "layout"],
    "properties": {
        "id": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "config": {
            "type": "object",
            "required": ["show_legends"],
            "properties": {
                "show_legends": {"type": "boolean"},
                "legends_position": {"type": ["string", "null"]},
                "unit": {"type": "string"},
                "decimals": {"type": "number"},
            },
        },
        "queryType": {"type": "string"},
        "queries": {"type": "array", "items": _QUERY},
        "layout": _LAYOUT,
    },
}
DASHBOARD_V5_SCHEMA = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "version": {"const": 5},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "tabs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tabId", "name"],
                "properties": {
                    "tabId": {"type": "string"},
                    "name": {"type": "string"},
                    "panels": {"type": "array", "items": _PANEL},
                },
            },
        },
    },
}


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Management:
    """Dashboards, alerts and destinations of every org, behind one lock."""

    def __init__(self, has_data: Callable[[str, str, str], bool] = lambda *_: True) -> None:
        # (org, stream, stream type) -> whether the stream has a schema, i.e. data.
        self.has_data = has_data
        self._lock = threading.Lock()
        self._ids = itertools.count(7_300_000_000_000_000_001)
        self.dashboards: dict[tuple[str, str], dict[str, Any]] = {}
        self.alerts: dict[tuple[str, str], dict[str, Any]] = {}
        self.destinations: dict[tuple[str, str], dict[str, Any]] = {}
        self._held: dict[str, list[Any]] = {}  # hold_first_lists

    # dashboards
    def _parse_dashboard(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BodyRejected("expected a JSON object")
        if body.get("version", 1) != 5:
            raise ApiError(400, "emulator: only dashboard version 5 is implemented")
        try:
            jsonschema.validate(body, DASHBOARD_V5_SCHEMA)
        except jsonschema.ValidationError as error:
            raise BodyRejected(error.message[:200]) from None
        return copy.deepcopy(body)

    @staticmethod
    def _hash(content: dict[str, Any]) -> str:
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).digest()
        return str(int.from_bytes(digest[:8], "big"))

    def _stored(self, org: str, dashboard_id: str) -> dict[str, Any]:
        stored = self.dashboards.get((org, dashboard_id))
        if stored is None:
            raise ApiError(404, "Dashboard not found")
        return stored

    @staticmethod
    def _details(stored: dict[str, Any]) -> dict[str, Any]:
        return {
            "v1": None,
            "v2": None,
            "v3": None,
            "v4": None,
            "v5": copy.deepcopy(stored["content"]),
            "version": 5,
            "hash": stored["hash"],
            "updatedAt": stored["updated_at"],
        }

    def create_dashboard(self, org: str, folder: str, body: Any, owner: str) -> dict[str, Any]:
        content = self._parse_dashboard(body)
        with self._lock:
            dashboard_id = str(next(self._ids))
            content.update(dashboardId=dashboard_id, owner=owner, created=_now_iso())
            content.setdefault("description", "")
            content.setdefault("role", "")
            content.setdefault("tabs", [])
            stored = {
                "folder": folder,
                "content": content,
                "hash": self._hash(content),
                "updated_at": int(time.time() * 1e6),
            }
            self.dashboards[(org, dashboard_id)] = stored
            return self._details(stored)

    def update_dashboard(
        self, org: str, dashboard_id: str, body: Any, hash_: str | None
    ) -> dict[str, Any]:
        content = self._parse_dashboard(body)
        with self._lock:
            stored = self._stored(org, dashboard_id)
            if not hash_:
                raise ApiError(
                    500,
                    "Request to update existing dashboard with missing or invalid hash value. BUG",
                )
            if hash_ != stored["hash"]:
                raise ApiError(409, "Conflict: Failed to save due to concurrent changes.")
            kept = {k: stored["content"][k] for k in ("dashboardId", "owner", "created")}
            content.update(kept)
            stored.update(
                content=content, hash=self._hash(content), updated_at=int(time.time() * 1e6)
            )
            return self._details(stored)

    def delete_dashboard(self, org: str, dashboard_id: str) -> dict[str, Any]:
        """`delete_dashboard` (src/handler/http/request/dashboards/mod.rs, v0.92.2
        src/api/management/src/request/dashboards/mod.rs): 404 "Dashboard not found"."""
        with self._lock:
            if self.dashboards.pop((org, dashboard_id), None) is None:
                raise ApiError(404, "Dashboard not found")
        return {"code": 200, "message": "Dashboard deleted"}

    def get_dashboard(self, org: str, dashboard_id: str) -> dict[str, Any]:
        with self._lock:
            return self._details(self._stored(org, dashboard_id))

    def list_dashboards(self, org: str, folder: str | None, title: str | None) -> dict[str, Any]:
        self._wait_for_the_others("dashboards")
        with self._lock:
            items = []
            for (row_org, dashboard_id), stored in self.dashboards.items():
                content = stored["content"]
                if row_org != org:
                    continue
                if folder is not None and stored["folder"] != folder:
                    continue
                if title and title.lower() not in content["title"].lower():
                    continue
                items.append(
                    {
                        "folder_id": stored["folder"],
                        "folder_name": stored["folder"].title(),
                        "dashboard_id": dashboard_id,
                        "title": content["title"],
                        "description": content.get("description", ""),
                        "role": content.get("role", ""),
                        "owner": content.get("owner", ""),
                        "created": content["created"],
                        "hash": stored["hash"],
                        "version": 5,
                        "updatedAt": stored["updated_at"],
                    }
                )
            return {"dashboards": items}

    # alert destinations
    def create_destination(self, org: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("name") or not body.get("url"):
            raise ApiError(400, "Destination name and url are required")
        with self._lock:
            self.destinations[(org, body["name"])] = copy.deepcopy(body)
        return {"code": 200, "message": "Destination saved"}

    def list_destinations(self, org: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(d) for (o, _), d in self.destinations.items() if o == org]

    # alerts
    def _check_alert(self, org: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("destinations"), list):
            raise BodyRejected("destinations: expected a list")
        name = str(body.get("name", "")).strip()
        if not name or not body.get("stream_name"):
            raise ApiError(400, "Alert name is required")
        if "/" in name:
            raise ApiError(400, "Alert name cannot contain '/'")
        if ALERT_NAME_FORBIDDEN.search(name):
            raise ApiError(
                400,
                "Alert name cannot contain ':', '#', '?', '&', '%', quotes and space characters",
            )
        if not body["destinations"]:
            raise ApiError(400, "Alert destinations is required")
        for destination in body["destinations"]:
            if (org, destination) not in self.destinations:
                # AlertError::AlertDestinationNotFound, which http.rs answers not_found.
                raise ApiError(404, f"Alert destination {destination} not found")
        # alert.rs `prepare_alert`: a stream without a schema (no data yet) is
        # `AlertError::StreamNotFound`, which http.rs answers 404 "Stream X not found".
        stream = body["stream_name"]
        if not self.has_data(org, stream, body.get("stream_type", "logs")):
            raise ApiError(404, f"Stream {stream} not found")
        alert = copy.deepcopy(body)
        alert.update(name=name, org_id=org)
        return alert

    def create_alert(self, org: str, folder: str, body: Any) -> dict[str, Any]:
        with self._lock:
            alert = self._check_alert(org, body)
            # prepare_alert (v0.91.5 src/service/alerts/alert.rs, v0.92.2
            # src/core/src/alerts/alert.rs): only an `id` that exists is refused; names are
            # not unique, so a second create of a name makes a second alert.
            if (org, alert.get("id")) in self.alerts:
                raise ApiError(409, "Alert already exists")
            alert_id = f"2{next(self._ids):026d}"[:27]
            alert.update(id=alert_id, folder_id=folder, updated_at=int(time.time()))
            self.alerts[(org, alert_id)] = alert
        return {"code": 200, "message": "Alert saved", "id": alert_id}

    def update_alert(self, org: str, alert_id: str, body: Any) -> dict[str, Any]:
        with self._lock:
            existing = self.alerts.get((org, alert_id))
            if existing is None:
                raise ApiError(404, "Alert not found")
            alert = self._check_alert(org, body)
            alert.update(id=alert_id, folder_id=existing["folder_id"], updated_at=int(time.time()))
            self.alerts[(org, alert_id)] = alert
        return {"code": 200, "message": "Alert Updated"}

    def delete_alert(self, org: str, alert_id: str) -> dict[str, Any]:
        """`delete_alert` (src/handler/http/request/alerts/mod.rs, v0.92.2
        src/api/management/src/request/alerts/mod.rs): 404 unless the alert exists."""
        with self._lock:
            if self.alerts.pop((org, alert_id), None) is None:
                raise ApiError(404, "Alert not found")
        return {"code": 200, "message": "Alert deleted"}

    def get_alert(self, org: str, alert_id: str) -> dict[str, Any]:
        with self._lock:
            alert = self.alerts.get((org, alert_id))
            if alert is None:
                raise ApiError(404, "Alert not found")
            return {k: v for k, v in copy.deepcopy(alert).items() if k != "folder_id"}

    def hold_first_lists(self, parties: int) -> None:
        """A test device, not OpenObserve's: the next `parties` list requests of dashboards,
        and of alerts, each wait until all of them arrived, so concurrent clients see the
        same (empty) list before any of them creates."""
        with self._lock:
            self._held = {
                kind: [threading.Barrier(parties, timeout=30), 0]
                for kind in ("dashboards", "alerts")
            }

    def _wait_for_the_others(self, kind: str) -> None:
        with self._lock:
            held = self._held.get(kind)
            if held is None:
                return
            held[1] += 1
            if held[1] == held[0].parties:  # the last one: later lists are not held
                del self._held[kind]
        held[0].wait()

    def list_alerts(self, org: str) -> dict[str, Any]:
        self._wait_for_the_others("alerts")
        with self._lock:
            return {
                "list": [
                    {
                        "alert_id": alert_id,
                        "folder_id": alert["folder_id"],
                        "folder_name": alert["folder_id"].title(),
                        "name": alert["name"],
                        "owner": alert.get("owner"),
                        "description": alert.get("description") or None,
                        "condition": alert.get("query_condition"),
                        "last_triggered_at": None,
                        "last_satisfied_at": None,
                    }
                    for (row_org, alert_id), alert in self.alerts.items()
                    if row_org == org
                ]
            }

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, for tests that compare two provisioning runs."""
        with self._lock:
            return copy.deepcopy(
                {
                    "dashboards": {k[1]: v for k, v in self.dashboards.items()},
                    "alerts": {k[1]: v for k, v in self.alerts.items()},
                }
            )
