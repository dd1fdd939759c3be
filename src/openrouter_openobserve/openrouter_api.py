"""A small client for OpenRouter's ledger: one generation's billed figures, and the activity
of a completed UTC day.

- A generation is recorded a moment after its answer: a 404 for a fresh id is retried with
  backoff, then reported as not there yet (None), to be asked again on a later run.
- A 429 waits for `Retry-After` (bounded), 5xx and unreachable back off; requests are spaced
  to at most `max_rps` per second.
- 401 and 403 fail at once with a one-line `OpenRouterError`: the key, never shown, is wrong.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

RETRY_AFTER_MAX_S = 60.0
ATTEMPTS = 5
NOT_YET_ATTEMPTS = 3  # a 404: asked this often in one run, with backoff


class OpenRouterError(Exception):
    """One failed call; `status` is the HTTP status, or None when nothing answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpenRouterLedger:
    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        management_key: str = "",
        max_rps: float = 5.0,
        timeout_s: float = 10.0,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._management_key = management_key
        self._interval_s = 1.0 / max_rps
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._last_request = 0.0

    def generation(self, generation_id: str) -> dict[str, Any] | None:
        """What OpenRouter billed for one generation, or None when it has no record yet."""
        query = {"id": generation_id}
        for attempt in range(NOT_YET_ATTEMPTS):
            try:
                return self._get("/generation", query, self._api_key, "OPENROUTER_API_KEY")["data"]
            except OpenRouterError as error:
                if error.status != 404:
                    raise
            if attempt < NOT_YET_ATTEMPTS - 1:
                self._sleep(self.backoff_s * 2**attempt)
        return None

    def activity(self, date: str) -> list[dict[str, Any]]:
        """Usage, requests and tokens per model and provider on one completed UTC day."""
        key, name = self._management_key, "OPENROUTER_MANAGEMENT_KEY"
        return self._get("/activity", {"date": date}, key, name)["data"]

    def _get(self, path: str, query: dict[str, str], key: str, key_name: str) -> dict[str, Any]:
        if not key:
            raise OpenRouterError(f"{key_name}: expected a key to read OpenRouter's {path[1:]}")
        for attempt in range(ATTEMPTS):
            wait = self._attempt_wait(path, query, key, key_name, attempt == ATTEMPTS - 1)
            if isinstance(wait, dict):
                return wait
            self._sleep(wait)
        raise AssertionError("unreachable: the last attempt raises")

    def _attempt_wait(
        self, path: str, query: dict[str, str], key: str, key_name: str, last: bool
    ) -> dict[str, Any] | float:
        """The answer, or how long to wait before the next attempt."""
        try:
            return self._request(path, query, key)
        except urllib.error.HTTPError as error:
            message = f"OpenRouter answered {error.code} to GET {path}: {_message(error)}"
            if error.code in (401, 403):
                raise OpenRouterError(f"{message} (check {key_name})", error.code) from None
            if last or not (error.code == 429 or error.code >= 500):
                raise OpenRouterError(message, error.code) from None
            if error.code == 429:
                return _retry_after(error, self.backoff_s)
            return self.backoff_s
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            if last:
                reason = getattr(error, "reason", error)
                message = f"cannot reach OpenRouter at {self.base_url}: {reason}"
                raise OpenRouterError(message) from None
            return self.backoff_s

    def _request(self, path: str, query: dict[str, str], key: str) -> dict[str, Any]:
        wait = self._last_request + self._interval_s - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_request = time.monotonic()
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return json.loads(response.read())


def _retry_after(error: urllib.error.HTTPError, fallback_s: float) -> float:
    try:
        return min(float(error.headers.get("Retry-After", "")), RETRY_AFTER_MAX_S)
    except ValueError:
        return fallback_s


def _message(error: urllib.error.HTTPError) -> str:
    """OpenRouter's `error.message`, else the status phrase: one line, bounded."""
    body = error.read().decode("utf-8", errors="replace")
    try:
        text = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        text = body.strip() or error.reason
    return " ".join(str(text).split())[:300]
