"""The simulator's ledger: what OpenRouter billed, served as its API reference describes.

- `GET /api/v1/generation?id=<gen-id>` (API reference, Generations, "Get request & usage
  metadata for a generation"): `{"data": {...}}` with the fields of `GenerationResponseData`
  in their wire (snake_case) spelling; errors 401 (key), 404 (no such generation yet: the
  record appears a moment after the answer, `lag_s` here), 429 (rate limit, `Retry-After`).
- `GET /api/v1/activity[?date=YYYY-MM-DD]` (API reference, Analytics, "Get user activity
  grouped by endpoint"): one item per day, model and provider endpoint for the last 30
  completed UTC days (today is never in it); a management key only (403 "Only management
  keys can fetch activity" for another valid key, 401 for an unknown one); 400 for a date
  that is not a completed day of the window.

Errors have OpenRouter's shape, `{"error": {"code", "message", "metadata"}}` (API
reference, "Errors").
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACTIVITY_DAYS = 30


@dataclass
class LedgerFault:
    status: int
    remaining: int
    retry_after_s: int | None = None


class Ledger:
    """Generations billed by the simulator; `clock` is the ledger's time (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lag_s = 0.0  # a generation answers 404 for this long after it was billed
        self.api_keys: set[str] | None = None  # None: any bearer key
        self.management_keys: set[str] = set()
        self.lookups: list[str] = []  # every id asked for, in order
        self._generations: dict[str, dict[str, Any]] = {}
        self._billed_at: dict[str, float] = {}
        self._faults: list[LedgerFault] = []
        self._lock = threading.Lock()

    def bill(self, record: dict[str, Any], at: float | None = None) -> None:
        """Book one generation (a `generation_record`), billed `at` (default now)."""
        with self._lock:
            self._generations[record["id"]] = record
            self._billed_at[record["id"]] = self.clock() if at is None else at

    def fail(self, status: int, count: int = 1, retry_after_s: int | None = None) -> None:
        """Answer the next `count` ledger requests with `status` (and Retry-After)."""
        with self._lock:
            self._faults.append(LedgerFault(status, count, retry_after_s))

    def billed(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._generations.values())

    # answers: (status, document, headers)
    def generation(self, key: str, generation_id: str) -> tuple[int, dict, dict[str, str]]:
        if not self._known_key(key) and key not in self.management_keys:
            return _error(401, "No auth credentials found")
        if (fault := self._take_fault()) is not None:
            return _fault_answer(fault)
        with self._lock:
            self.lookups.append(generation_id)
            record = self._generations.get(generation_id)
            billed_at = self._billed_at.get(generation_id, 0.0)
        if record is None or self.clock() < billed_at + self.lag_s:
            return _error(404, f"Generation {generation_id} not found")
        return 200, {"data": record}, {}

    def activity(self, key: str, date: str | None) -> tuple[int, dict, dict[str, str]]:
        if key not in self.management_keys:
            if self._known_key(key):
                return _error(403, "Only management keys can fetch activity")
            return _error(401, "No auth credentials found")
        if (fault := self._take_fault()) is not None:
            return _fault_answer(fault)
        days = self._completed_days()
        if date is not None and date not in days:
            return _error(400, "Invalid date format or date range")
        wanted = {date} if date else set(days)
        return 200, {"data": self._activity_items(wanted)}, {}

    def _known_key(self, key: str) -> bool:
        return bool(key) and (self.api_keys is None or key in self.api_keys)

    def _take_fault(self) -> LedgerFault | None:
        return take_counted(self._faults, self._lock)

    def _completed_days(self) -> list[str]:
        today = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).date()
        return [(today - dt.timedelta(days=n)).isoformat() for n in range(1, ACTIVITY_DAYS + 1)]

    def _activity_items(self, dates: set[str]) -> list[dict[str, Any]]:
        items: dict[tuple[str, str, str], dict[str, Any]] = {}
        with self._lock:
            booked = [(r, self._billed_at[r["id"]]) for r in self._generations.values()]
        for record, at in booked:
            day = dt.datetime.fromtimestamp(at, dt.timezone.utc).date().isoformat()
            if day not in dates:
                continue
            key = (day, record["model"], record["provider_name"])
            item = items.setdefault(key, _activity_item(*key))
            item["usage"] += record["total_cost"]
            item["byok_usage_inference"] += record["upstream_inference_cost"] or 0.0
            item["requests"] += 1
            item["prompt_tokens"] += record["native_tokens_prompt"]
            item["completion_tokens"] += record["native_tokens_completion"]
            item["reasoning_tokens"] += record["native_tokens_reasoning"]
        return sorted(items.values(), key=lambda i: (i["date"], i["model"], i["provider_name"]))


def take_counted(faults: list[Any], lock: threading.Lock) -> Any:
    """The first of `faults` (each with a `remaining` count), used once; None when none."""
    with lock:
        if not faults:
            return None
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.pop(0)
        return fault


def generation_record(
    answer: Any, streamed: bool, latency_ms: float, generation_ms: float
) -> dict[str, Any]:
    """The ledger's record of one answered request (an `openrouter_simulator.Answer`)."""
    usage = answer.usage
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    return {
        "id": answer.id,
        "upstream_id": f"chatcmpl-{answer.id.rsplit('-', 1)[-1]}",
        "total_cost": usage["cost"],
        "cache_discount": None,
        "upstream_inference_cost": usage["cost_details"]["upstream_inference_cost"],
        "created_at": dt.datetime.fromtimestamp(answer.created, dt.timezone.utc).isoformat(),
        "model": answer.served,
        "app_id": None,
        "streamed": streamed,
        "cancelled": False,
        "provider_name": answer.model.provider,
        "latency": round(latency_ms),
        "moderation_latency": None,
        "generation_time": round(generation_ms),
        "finish_reason": answer.finish_reason,
        "native_finish_reason": answer.finish_reason,
        "tokens_prompt": usage["prompt_tokens"],
        "tokens_completion": usage["completion_tokens"],
        "native_tokens_prompt": usage["prompt_tokens"],
        "native_tokens_completion": usage["completion_tokens"],
        "native_tokens_completion_images": 0,
        "native_tokens_reasoning": reasoning,
        "native_tokens_cached": usage["prompt_tokens_details"]["cached_tokens"],
        "num_media_prompt": None,
        "num_input_audio_prompt": None,
        "num_media_completion": None,
        "num_search_results": None,
        "origin": "",
        "usage": usage["cost"],
        "is_byok": usage["is_byok"],
        "external_user": None,
        "api_type": "completions",
        "router": None,
        "provider_responses": [{"provider_name": answer.model.provider, "status": 200}],
    }


def _activity_item(date: str, model: str, provider: str) -> dict[str, Any]:
    return {
        "date": date,
        "model": model,
        "model_permaslug": model,
        "endpoint_id": f"{provider}:{model}",
        "provider_name": provider,
        "usage": 0.0,
        "byok_usage_inference": 0.0,
        "requests": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "reasoning_tokens": 0,
    }


def _error(status: int, message: str) -> tuple[int, dict, dict[str, str]]:
    return status, {"error": {"code": status, "message": message, "metadata": None}}, {}


def _fault_answer(fault: LedgerFault) -> tuple[int, dict, dict[str, str]]:
    status, document, _ = _error(
        fault.status, "Rate limit exceeded" if fault.status == 429 else "Error"
    )
    headers = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
    return status, document, headers
