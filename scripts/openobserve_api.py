"""A small client for OpenObserve's HTTP API: search, dashboards, alerts.

Every failure is an `OpenObserveError` whose message is one line naming the call and
what OpenObserve (or the network) answered; credentials never appear in it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from scripts.settings import SettingsError


class OpenObserveError(Exception):
    """One failed call; `status` is the HTTP status, or None when nothing answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpenObserve:
    def __init__(self, url: str, org: str, auth_token: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.org = org
        self._auth_token = auth_token
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> OpenObserve:
        """From validated settings; a forwarding agent's .env may lack the org or token."""
        for key in ("OPENOBSERVE_ORG", "OPENOBSERVE_AUTH_TOKEN"):
            if not settings.get(key):
                raise SettingsError(key, "a value to reach OpenObserve (required, not set)")
        return cls(
            settings["OPENOBSERVE_URL"],
            settings["OPENOBSERVE_ORG"],
            settings["OPENOBSERVE_AUTH_TOKEN"],
        )

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> Any:
        """`method` `path` (relative to the base URL) with a JSON body; the JSON answer."""
        target = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(
            target,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": self._auth_token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise OpenObserveError(
                f"OpenObserve answered {error.code} to {method} {path}: {_message(error)}",
                error.code,
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise OpenObserveError(f"cannot reach OpenObserve at {self.url}: {reason}") from None
        return json.loads(payload) if payload else None

    def search(
        self, sql: str, start_us: int, end_us: int, stream_type: str = "traces"
    ) -> list[dict[str, Any]]:
        """The hits of `sql` over rows with `_timestamp` in [start_us, end_us)."""
        body = {"query": {"sql": sql, "start_time": start_us, "end_time": end_us}}
        answer = self.call("POST", f"/api/{self.org}/_search", body, {"type": stream_type})
        return answer.get("hits", [])


def _message(error: urllib.error.HTTPError) -> str:
    """OpenObserve's `message` field, else the status phrase: one line, bounded."""
    try:
        text = json.loads(error.read()).get("message") or error.reason
    except (ValueError, AttributeError):
        text = error.reason
    return " ".join(str(text).split())[:300]
