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

from openrouter_openobserve.settings import SettingsError


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
        """The API with the API credential (OPENOBSERVE_API_TOKEN, else the ingestion one);
        a forwarding agent's .env may lack the org or token."""
        if not settings.get("OPENOBSERVE_ORG"):
            raise SettingsError(
                "OPENOBSERVE_ORG", "a value to reach OpenObserve (required, not set)"
            )
        token = api_token(settings)
        if not token:
            raise SettingsError(
                "OPENOBSERVE_API_TOKEN", "a value to reach OpenObserve's API (required, not set)"
            )
        return cls(settings["OPENOBSERVE_URL"], settings["OPENOBSERVE_ORG"], token)

    def ingest_nothing(self) -> None:
        """An empty OTLP export to the trace ingest endpoint: does the server take this
        credential for ingestion into this org? (It stores nothing.)"""
        self.call("POST", f"/api/{self.org}/v1/traces", b"", content_type="application/x-protobuf")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """`method` `path` (relative to the base URL) with a JSON body (or raw bytes); the
        JSON answer."""
        target = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            target,
            method=method,
            data=data,
            headers={"Authorization": self._auth_token, "Content-Type": content_type},
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
        if not payload or not response.headers.get_content_type().endswith("json"):
            return None
        return json.loads(payload)

    def stream_schema(self, stream: str, stream_type: str = "traces") -> dict[str, Any]:
        """A stream's schema; OpenObserveError 404 when the stream has no data yet."""
        path = f"/api/{self.org}/streams/{stream}/schema"
        return self.call("GET", path, None, {"type": stream_type}) or {}

    def search(
        self, sql: str, start_us: int, end_us: int, stream_type: str = "traces"
    ) -> list[dict[str, Any]]:
        """The hits of `sql` over rows with `_timestamp` in [start_us, end_us)."""
        body = {"query": {"sql": sql, "start_time": start_us, "end_time": end_us}}
        answer = self.call("POST", f"/api/{self.org}/_search", body, {"type": stream_type})
        return answer.get("hits", [])


def not_there_yet(error: OpenObserveError) -> bool:
    """An answer before the first span landed: the stream is missing (a search answers 400
    with error code 20002 "Search stream not found") or, for a new org, the org itself (404
    "Organization not found" until its first ingestion creates it)."""
    text = str(error).lower()
    return (error.status == 400 and "stream not found" in text) or (
        error.status == 404 and "organization not found" in text
    )


def api_token(settings: dict[str, Any]) -> str | None:
    """The credential for OpenObserve's API: OPENOBSERVE_API_TOKEN, else the ingestion one."""
    return settings.get("OPENOBSERVE_API_TOKEN") or settings.get("OPENOBSERVE_AUTH_TOKEN")


def _message(error: urllib.error.HTTPError) -> str:
    """OpenObserve's `message` field, or its plain-text body (the auth layer answers in plain
    text), else the status phrase: one line, bounded."""
    body = error.read().decode("utf-8", errors="replace")
    try:
        text = json.loads(body).get("message") or error.reason
    except (ValueError, AttributeError):
        text = body.strip() or error.reason
    return " ".join(str(text).split())[:300]
