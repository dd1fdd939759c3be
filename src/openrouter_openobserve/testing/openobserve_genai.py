"""OpenObserve's GenAI span processor, as far as the spans this bundle sends meet it.

OpenObserve rewrites every LLM span on ingest (`handle_otlp_request` in
src/core/src/traces/mod.rs calls `OtelIngestionProcessor` of src/core/src/traces/otel/processor.rs,
`process_span_with_pricing_and_agent_mapping`, for each span `is_llm_trace` accepts); there is no
switch to turn it off. This module reproduces, on a span's attribute map (keys as sent, values
as OpenObserve's `get_val` makes them: strings, or lists and dicts), the parts that touch the
bundle's columns:

- `is_llm_trace` (extractors/gen_ai_operation.rs): the keys that make a span an LLM span;
- `map_to_gen_ai_operation_name` (same file): `gen_ai.operation.name`, always written;
- `ModelExtractor::extract` (extractors/model.rs): the first model key present becomes
  `gen_ai.response.model`, always written, so a failed call gets its requested model there;
- `ProviderExtractor::extract` (extractors/provider.rs): `gen_ai.provider.name`;
- `InputOutputExtractor` (extractors/input_output.rs): `input.value`/`output.value`, the
  Vercel AI SDK's `ai.prompt*`/`ai.response.*` (scope `ai`) and the other content keys are
  removed and written again as `gen_ai.input.messages` and `gen_ai.output.messages`;
- `ParametersExtractor::extract` (extractors/parameters.rs): every key of
  `llm.invocation_parameters` but `model` becomes a `gen_ai.request.<key>` string;
- `UsageExtractor` (extractors/usage.rs) and `compute_usage_and_cost` (processor.rs): token
  counts and cost are read only when not zero (`set_val_if_not_zero`); missing input/output
  tokens of a generation are counted from the content with a tokenizer; a generation without a
  cost gets one from the built-in price table (otel/pricing.rs `MODEL_PRICING`), else 0;
- `emit_enriched_attributes` (processor.rs): usage and cost are written with `insert`
  (v0.91.5, overwriting what the span carried) or `insert_if_absent` (v0.92);
- `MetadataExtractor::extract_user_id` / `extract_session_id` (extractors/metadata.rs): the
  first of their keys present becomes `user.id` and `gen_ai.conversation.id`, overwriting;
- `AgentExtractor::extract` (v0.92 extractors/agent.rs): `deployment.environment.name` and
  `gen_ai.agent.version` from the span or its resource.

`normalize_llm_field_types` (src/core/src/traces/mod.rs) then types the token columns as
Int64 and the cost and time-to-first-chunk columns as Float64: `typed_columns` below.

Two releases are reproduced, each a `Release` below: v0.91.5 (its code under
src/service/traces/otel/) and v0.92.2 (moved to src/core/src/traces/otel/).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Release:
    """What one OpenObserve release's GenAI processor does differently."""

    name: str
    # emit_enriched_attributes: `insert` (overwrite what the span carried) or insert_if_absent.
    overwrites_usage: bool
    # is_llm_trace steps 1 (gen_ai.agent.*), 5b (openinference.span.kind) and 5c (v0.92).
    agent_and_kind_keys: bool
    # compute_usage_and_cost: v0.91.5 counts and prices only `if extracted.input.is_some() ||
    # extracted.output.is_some()`; v0.92 every generation (`if is_generation_or_embedding`).
    prices_without_content: bool
    # GEN_AI_INT64_FIELDS has the cache-token columns (v0.92: 5 entries, v0.91.5: 3), and
    # emit_enriched_attributes writes the cache counts.
    cache_columns: bool
    # src/core/src/traces/mod.rs `set_o2_ingest_ts`: `_o2_ingest_ts` (µs) on every span row.
    ingest_ts: bool
    # AgentExtractor (v0.92 only): environment and version on LLM spans.
    agent_identity: bool
    # Metrics, process_hist_data_point: an unset histogram sum/min/max is a row without a
    # value (v0.91.5 `data_point.min.into()`), or no row (v0.92 `if let Some(min)`).
    null_histogram_parts: bool


V0_91_5 = Release("v0.91.5", True, False, False, False, False, False, True)
V0_92_2 = Release("v0.92.2", False, True, True, True, True, True, False)
RELEASES = {release.name: release for release in (V0_91_5, V0_92_2)}
LATEST = V0_92_2

# gen_ai_operation.rs: KNOWN_GEN_AI_OPERATION_NAME_VALUES and the openinference.span.kind map.
_KNOWN_OPERATIONS = (
    "chat",
    "text_completion",
    "generate_content",
    "embeddings",
    "invoke_agent",
    "create_agent",
    "execute_tool",
    "invoke_workflow",
    "retrieval",
)
_OPENINFERENCE_KINDS = {
    "LLM": "chat",
    "CHAIN": "chain",
    "EMBEDDING": "embeddings",
    "AGENT": "invoke_agent",
    "TOOL": "execute_tool",
    "RETRIEVER": "retrieval",
    "EVALUATOR": "evaluator",
    "GUARDRAIL": "guardrail",
}
_GENERATIONS = ("chat", "text_completion", "generate_content", "embeddings")

# is_llm_trace: the keys both releases check (the scope-name check is not needed here) ...
_LLM_SPAN_KEYS = (
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.input.messages",
    "llm.request.type",
    "ai.model.id",
    "ai.prompt",
    "ai.prompt.messages",
    "llm.model_name",
    "langfuse.observation.type",
    "traceloop.span.kind",
    "input",
    "input.value",
)
# ... and those v0.92 added (steps 1, 5b and 5c).
_V0_92_LLM_SPAN_KEYS = (
    "gen_ai.agent.name",
    "gen_ai.agent.id",
    "openinference.span.kind",
    "agent.name",
    "tool.name",
    "tool_call.function.name",
    "gcp.vertex.agent.name",
    "crewai.task.agent",
    "crewai.task.tools",
    "langchain.tool.name",
)
# metadata.rs: user_id_keys and session_id_keys, span first, then resource.
_USER_KEYS = ("user.id", "ai.telemetry.metadata.userId", "service_user.id")
_SESSION_KEYS = (
    "session.id",
    "gen_ai.conversation.id",
    "ai.telemetry.metadata.sessionId",
    "langfuse.observation.metadata.langfuse_session_id",
    "langfuse.observation.metadata.session_id",
    "service_session.id",
)
# agent.rs with config/src/meta/gen_ai.rs BUILTIN_ENV_FIELDS / BUILTIN_VERSION_FIELDS.
_ENV_KEYS = (
    "deployment.environment.name",
    "deployment.environment",
    "env",
    "environment",
    "k8s.namespace.name",
)
_VERSION_KEYS = ("gen_ai.agent.version", "service.version", "app.version", "git.commit.sha")
# model.rs, provider.rs: first key present wins.
_MODEL_KEYS = (
    "gen_ai.response.model",
    "ai.model.id",
    "gen_ai.request.model",
    "langfuse.observation.model.name",
    "llm.response.model",
    "llm.model_name",
    "model",
)
# gen_ai_operation.rs priority 8: any of these makes the operation "chat".
_FALLBACK_MODEL_KEYS = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    "ai.model.id",
    "llm.model_name",
    "llm.response.model",
    "model",
)
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "ai.model.provider")
# input_output.rs `extract`: the (input, output) pairs this bundle's spans can carry, in its
# order; the Vercel AI SDK's (scope "ai") come between the first and the second.
_CONTENT_PAIRS = (
    ("gen_ai.input.messages", "gen_ai.output.messages"),
    ("input.value", "output.value"),
    ("input", "output"),
)
# `extract_vercel_ai_sdk`: the first input key present, and the first output key present.
_VERCEL_INPUT_KEYS = ("ai.prompt.messages", "ai.prompt", "ai.toolCall.args")
_VERCEL_OUTPUT_KEYS = (
    "ai.response.text",
    "ai.result.text",
    "ai.toolCall.result",
    "ai.response.object",
    "ai.result.object",
    "ai.response.toolCalls",
    "ai.result.toolCalls",
)
# `is_input_output_attribute`: removed from every LLM span, whatever its scope.
_CONTENT_KEYS = frozenset(
    [key for pair in _CONTENT_PAIRS for key in pair] + [*_VERCEL_INPUT_KEYS, *_VERCEL_OUTPUT_KEYS]
)
_CONTENT_PREFIXES = (
    "gen_ai.prompt",
    "gen_ai.completion",
    "llm.input_messages",
    "llm.output_messages",
)
# usage.rs: (keys, usage slot), later entries overwrite earlier ones as there.
_TOKEN_KEYS = (
    (("llm.usage.total_tokens",), "total"),
    (("gen_ai.usage.input_tokens",), "input"),
    (("gen_ai.usage.output_tokens",), "output"),
    (("gen_ai.usage.total_tokens",), "total"),
    (("gen_ai.usage.prompt_tokens",), "input"),
    (("gen_ai.usage.completion_tokens",), "output"),
    (("gen_ai.usage.cache_read.input_tokens",), "cache_read_input_tokens"),
    (("gen_ai.usage.cache_creation.input_tokens",), "cache_creation_input_tokens"),
    (("llm.token_count.prompt",), "input"),
    (("llm.token_count.completion",), "output"),
)
_USAGE_OUT = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "total": "gen_ai.usage.total_tokens",
    "cache_read_input_tokens": "gen_ai.usage.cache_read.input_tokens",
    "cache_creation_input_tokens": "gen_ai.usage.cache_creation.input_tokens",
}
_COST_OUT = {
    "input": "gen_ai.usage.cost.input",
    "output": "gen_ai.usage.cost.output",
    "total": "gen_ai.usage.cost",
}
# pricing.rs MODEL_PRICING (USD per million input, output tokens): the entries in the order
# the table has them, for the families the tests' models belong to. Patterns are searched,
# not anchored, so `openai/gpt-4o-mini` matches `gpt-4o-mini`.
MODEL_PRICING = (
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4", 30.00, 60.00),
    ("gpt-3\\.5-turbo", 0.50, 1.50),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-haiku", 0.25, 1.25),
    ("gemini-2\\.0-flash-lite", 0.075, 0.30),
    ("gemini-2\\.0-flash", 0.10, 0.40),
    ("(?i)deepseek-(?:r1|reasoner)(?:-\\d[\\d-]*)?$", 0.55, 2.19),
)
# normalize_llm_field_types (src/core/src/traces/mod.rs): GEN_AI_INT64_FIELDS and
# GEN_AI_FLOAT64_FIELDS.
INT64_COLUMNS = (
    "gen_ai_usage_input_tokens",
    "gen_ai_usage_output_tokens",
    "gen_ai_usage_total_tokens",
    "gen_ai_usage_cache_read_input_tokens",
    "gen_ai_usage_cache_creation_input_tokens",
)
FLOAT64_COLUMNS = (
    "gen_ai_response_time_to_first_chunk",
    "gen_ai_usage_cost",
    "gen_ai_usage_cost_input",
    "gen_ai_usage_cost_output",
)


def is_llm_span(attributes: dict[str, Any], release: Release = LATEST) -> bool:
    keys = _LLM_SPAN_KEYS + (_V0_92_LLM_SPAN_KEYS if release.agent_and_kind_keys else ())
    return any(key in attributes for key in keys)


def operation_name(attributes: dict[str, Any]) -> str:
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation.lower() in _KNOWN_OPERATIONS:
        return operation.lower()
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_KINDS:
        return _OPENINFERENCE_KINDS[kind.upper()]
    if any(key in attributes for key in _FALLBACK_MODEL_KEYS):
        return "chat"
    return "span"


def _first_string(attributes: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in attributes:
            value = attributes[key]
            return value if isinstance(value, str) else None
    return None


def _content(attributes: dict[str, Any], scope: str) -> tuple[Any, Any]:
    first, *rest = _CONTENT_PAIRS
    if first[0] in attributes:
        return attributes[first[0]], attributes.get(first[1])
    if scope == "ai":
        found = _vercel_content(attributes)
        if found != (None, None):
            return found
    for input_key, output_key in rest:
        if input_key in attributes:
            return attributes[input_key], attributes.get(output_key)
    return None, None


def _vercel_content(attributes: dict[str, Any]) -> tuple[Any, Any]:
    """`extract_vercel_ai_sdk`: a text answer with tool calls becomes one assistant message."""
    content_in = next((attributes[k] for k in _VERCEL_INPUT_KEYS if k in attributes), None)
    content_out = next((attributes[k] for k in _VERCEL_OUTPUT_KEYS if k in attributes), None)
    if "ai.response.text" in attributes and "ai.response.toolCalls" in attributes:
        content_out = {
            "role": "assistant",
            "content": attributes["ai.response.text"],
            "tool_calls": attributes["ai.response.toolCalls"],
        }
    return content_in, content_out


def _parameters(attributes: dict[str, Any]) -> dict[str, str]:
    raw = attributes.get("llm.invocation_parameters")
    if raw is not None:
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return {key: _param_string(value) for key, value in parsed.items()}
    return {
        key.removeprefix("gen_ai.request."): _param_string(value)
        for key, value in attributes.items()
        if key.startswith("gen_ai.request.") and key != "gen_ai.request.model"
    }


def _param_string(value: Any) -> str:
    """ParametersExtractor::sanitize_param_value: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def _number(value: Any, kind: type) -> Any:
    """extract_i64 / extract_f64: a number, or a string that parses as one."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _usage(attributes: dict[str, Any]) -> dict[str, int]:
    usage: dict[str, int] = {}
    for keys, slot in _TOKEN_KEYS:
        for key in keys:
            number = _number(attributes.get(key), int)
            if number:  # set_val_if_not_zero
                usage[slot] = number
    return usage


def count_tokens(text: str) -> int:
    """pricing::calculate_token_count runs tiktoken's o200k_base; its vocabulary cannot be
    fetched here, so this approximates the count (about four bytes a token). Tests assert that
    tokens are estimated, never the estimate itself."""
    return max(1, len(text.encode()) // 4)


def _price(model: str, usage: dict[str, int]) -> dict[str, float]:
    for pattern, input_price, output_price in MODEL_PRICING:
        if re.search(pattern, model):
            input_cost = usage.get("input", 0) / 1e6 * input_price
            output_cost = usage.get("output", 0) / 1e6 * output_price
            return {"input": input_cost, "output": output_cost, "total": input_cost + output_cost}
    return {}


def process_span(
    attributes: dict[str, Any],
    release: Release,
    resource: dict[str, Any] | None = None,
    scope: str = "",
) -> None:
    """Rewrite one LLM span's attributes in place, as `release` does on ingest; `scope` is
    the span's instrumentation scope name."""
    resource = resource or {}
    operation = operation_name(attributes)
    model = _first_string(attributes, _MODEL_KEYS)
    provider = _first_string(attributes, _PROVIDER_KEYS)
    content_in, content_out = _content(attributes, scope)
    parameters = _parameters(attributes)
    usage = _usage(attributes)
    reported_cost = _number(attributes.get("gen_ai.usage.cost"), float)
    cost = {"total": reported_cost} if reported_cost else {}
    found = {
        key: _first_present(attributes, resource, keys)
        for key, keys in (("user.id", _USER_KEYS), ("gen_ai.conversation.id", _SESSION_KEYS))
    }
    if release.agent_identity:
        found["deployment.environment.name"] = _first_present(attributes, resource, _ENV_KEYS)
        found["gen_ai.agent.version"] = _first_present(attributes, resource, _VERSION_KEYS)
    for key in [k for k in attributes if k in _CONTENT_KEYS or k.startswith(_CONTENT_PREFIXES)]:
        del attributes[key]

    has_content = content_in is not None or content_out is not None
    if operation in _GENERATIONS and (has_content or release.prices_without_content):
        if content_in is not None and "input" not in usage:
            usage["input"] = count_tokens(_as_text(content_in))
        if content_out is not None and "output" not in usage:
            usage["output"] = count_tokens(_as_text(content_out))
        if not cost and model:
            cost = _price(model, usage)
    usage.setdefault("input", 0)
    usage.setdefault("output", 0)
    usage.setdefault("total", usage["input"] + usage["output"])
    cost.setdefault("total", sum(cost.values()))

    attributes["gen_ai.operation.name"] = operation
    for key, value in (("gen_ai.response.model", model), ("gen_ai.provider.name", provider)):
        if value is not None:
            attributes[key] = value
    if content_in is not None:
        attributes["gen_ai.input.messages"] = content_in
    if content_out is not None:
        attributes["gen_ai.output.messages"] = content_out
    for key, value in parameters.items():
        if key != "model":
            attributes[f"gen_ai.request.{key}"] = value
    write = attributes.__setitem__ if release.overwrites_usage else attributes.setdefault
    usage_out = list(_USAGE_OUT.items())[: None if release.cache_columns else 3]
    for slot, key in usage_out:
        if slot in usage:
            write(key, usage[slot])
    for slot, key in _COST_OUT.items():
        if slot in cost:
            write(key, cost[slot])
    attributes.update({key: value for key, value in found.items() if value is not None})


def _first_present(
    attributes: dict[str, Any], resource: dict[str, Any], keys: tuple[str, ...]
) -> str | None:
    """The first of `keys` holding a string in the span, else in its resource."""
    for source in (attributes, resource):
        for key in keys:
            if isinstance(source.get(key), str):
                return source[key]
    return None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def typed_columns(row: dict[str, Any], release: Release = LATEST) -> None:
    """normalize_llm_field_types: these columns are numbers whatever the span sent."""
    for column in INT64_COLUMNS[: None if release.cache_columns else 3]:
        if column in row:
            row[column] = int(_number(row[column], float) or 0)
    for column in FLOAT64_COLUMNS:
        if column in row:
            row[column] = _number(row[column], float) or 0.0
