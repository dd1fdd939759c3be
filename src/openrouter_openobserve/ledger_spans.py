"""The spans `reconcile` writes: OpenRouter's ledger beside the calls it billed.

A *ledger span* is a child of its call, in the same trace, named `openrouter.ledger`; an
*untraced span* (`openrouter.untraced`) stands for what a day's activity billed beyond the
traced calls. Neither carries `gen_ai.provider.name`, so no request count counts them; spend
counts `reconciled` ones (README "Billed truth").
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

SCOPE = InstrumentationScope("openrouter_openobserve.reconcile")
RECONCILED, VERIFIED, UNTRACED = "reconciled", "verified", "untraced"
# OpenObserve takes no span that started more than ZO_INGEST_ALLOWED_UPTO (5 h by default)
# ago: a ledger span for an older call is stamped at the time it is written.
INGEST_WINDOW_S = 4 * 3600
# What the ledger says of a generation, as ledger span attributes.
LEDGER_FIELDS = {
    "total_cost": "openrouter.ledger.total_cost",
    "upstream_inference_cost": "openrouter.ledger.upstream_cost",
    "model": "openrouter.ledger.model",
    "provider_name": "openrouter.ledger.provider_name",
    "native_tokens_prompt": "openrouter.ledger.native_tokens_prompt",
    "native_tokens_completion": "openrouter.ledger.native_tokens_completion",
    "native_tokens_reasoning": "openrouter.ledger.native_tokens_reasoning",
    "native_tokens_cached": "openrouter.ledger.native_tokens_cached",
    "latency": "openrouter.ledger.latency_ms",
    "generation_time": "openrouter.ledger.generation_time_ms",
    "streamed": "openrouter.ledger.streamed",
    "cancelled": "openrouter.ledger.cancelled",
    "is_byok": "openrouter.ledger.is_byok",
}


def ledger_span(
    call: dict[str, Any], copied: dict[str, Any], figures: dict[str, Any], status: str
) -> ReadableSpan:
    """The ledger's figures for one call (its row: `trace_id`, `span_id`, `start_time`,
    `service_name`, `id`), as a child of its span in the same trace, with the call's own
    attributes `copied` (model, provider, user, session) so that it groups with the call."""
    attributes: dict[str, Any] = {
        "openrouter.cost_status": status,
        "gen_ai.response.id": call["id"],
        "gen_ai.response.model": figures["model"],
    }
    if status == RECONCILED:
        attributes["gen_ai.usage.cost"] = float(figures["total_cost"])
    attributes |= copied | _ledger_attributes(figures)
    trace_id = int(call["trace_id"], 16)
    parent = SpanContext(trace_id, int(call["span_id"], 16), is_remote=True)
    start_ns = max(int(call["start_time"]), time.time_ns() - INGEST_WINDOW_S * 10**9)
    return _span("openrouter.ledger", trace_id, parent, call["service_name"], attributes, start_ns)


def untraced_span(date: str, row: dict[str, Any]) -> ReadableSpan:
    """What OpenRouter billed for `row`'s model on `date` beyond the traced calls."""
    attributes = {
        "openrouter.cost_status": UNTRACED,
        "openrouter.ledger.date": date,
        "gen_ai.request.model": row["model"],
        "gen_ai.response.model": row["model"],
        "gen_ai.usage.cost": float(row["untraced_usd"]),
        "openrouter.ledger.untraced_requests": int(row["untraced_requests"]),
        "openrouter.ledger.provider_name": ",".join(row["providers"]),
    }
    trace_id = secrets.randbits(128)
    return _span("openrouter.untraced", trace_id, None, "openrouter", attributes, time.time_ns())


def _span(
    name: str,
    trace_id: int,
    parent: SpanContext | None,
    service: str,
    attributes: dict[str, Any],
    start_ns: int,
) -> ReadableSpan:
    context = SpanContext(trace_id, secrets.randbits(64), False, TraceFlags(TraceFlags.SAMPLED))
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=Resource({"service.name": service or "unknown_service"}),
        attributes=attributes,
        kind=SpanKind.INTERNAL,
        start_time=start_ns,
        end_time=start_ns,
        instrumentation_scope=SCOPE,
    )


def _ledger_attributes(figures: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        attribute: figures[key]
        for key, attribute in LEDGER_FIELDS.items()
        if isinstance(figures.get(key), (str, bool, int, float))
    }
    tried = figures.get("provider_responses") or []
    names = [str(r.get("provider_name")) for r in tried if isinstance(r, dict)]
    if names:
        attributes["openrouter.ledger.providers_tried"] = ",".join(names)
    return attributes
