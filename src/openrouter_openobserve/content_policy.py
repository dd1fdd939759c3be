"""What `CONTENT_POLICY=metadata` lets leave the host: an allow-list, not a list of the
content names of the instrumentations we know.

On every span a GenAI instrumentation made, only the attributes below are kept; every other
attribute (prompts, completions, reasoning, tool arguments and results, a framework's own
names for any of them) is removed, and the span says how many were removed
(`content_policy.removed_attributes`). Its events keep only their names, but for
exceptions (type, and message and stack trace with the error body cut). Spans that are not
GenAI (HTTP, database, ...) are left as they are.

A span is a GenAI span when it has an attribute in a GenAI namespace (`gen_ai.*`, `llm.*`,
`ai.*`, `traceloop.*`, OpenInference's `openinference.*`, `input.value`, `output.value`) or
comes from a GenAI instrumentation's scope (OpenInference, OpenLIT, Traceloop, OpenTelemetry's
GenAI instrumentations, the Vercel AI SDK's `ai`): what the real packages record.

`CONTENT_ALLOW_ATTRIBUTES` adds names (`team.name`) or prefixes (`myapp.labels.*`).
"""

from __future__ import annotations

import re

# One row a kind of metadata: (why it may leave, the attribute names as RE2 fragments).
# Names are matched whole: `gen_ai[.]usage[.].+` is every token count and the billed cost.
METADATA_ATTRIBUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "what was asked for and what answered",
        (
            "gen_ai[.](operation[.]name|provider[.]name|system|output[.]type)",
            "gen_ai[.]request[.](model|temperature|top_p|top_k|max_tokens|frequency_penalty"
            "|presence_penalty|seed|choice[.]count|stream|is_stream|encoding_formats"
            "|service_tier|reasoning_effort)",
            "gen_ai[.]response[.](id|model|finish_reasons|service_tier|system_fingerprint)",
            "gen_ai[.]openai[.](request|response)[.](service_tier|system_fingerprint)",
            "gen_ai[.]openai[.]api_base",
            "llm[.](model_name|provider|system|finish_reason|request[.]type|is_streaming)",
            "llm[.]request[.]parameters[.]model",
            "embedding[.]model_name|reranker[.](model_name|top_k)",
            "ai[.](operationId|model[.](id|provider)|telemetry[.]functionId)",
            "ai[.]settings[.](maxRetries|maxOutputTokens|maxTokens|temperature|topP|topK"
            "|presencePenalty|frequencyPenalty|seed)",
            "ai[.]response[.](id|model|finishReason|timestamp)",
            "operation[.]name|resource[.]name",
        ),
    ),
    (
        "tokens, cost and timing",
        (
            "gen_ai[.]usage[.].+",
            "llm[.](token_count|cost|usage)[.].+",
            "ai[.]usage[.].+",
            "gen_ai[.]response[.]time_to_first_chunk",
            "gen_ai[.]server[.](time_to_first_token|time_per_output_token|request[.]duration)",
            "ai[.]response[.](msToFirstChunk|msToFinish|avgOutputTokensPerSecond"
            "|avgCompletionTokensPerSecond)",
        ),
    ),
    (
        "users and sessions (USER_ID_HASH hashes users)",
        (
            "user[.]id|session[.]id|gen_ai[.]conversation[.]id|gen_ai[.]user|gen_ai[.]request[.]user",
        ),
    ),
    (
        "which part of the app: span kinds, agents, tools and workflows by name, ids",
        (
            "openinference[.]span[.]kind|agent[.]name|graph[.]node[.](id|name|parent_id)",
            "tool[.]name|tool_call[.](id|function[.]name)",
            "gen_ai[.]agent[.](id|name)|gen_ai[.]tool[.](name|type|call[.]id)",
            "gen_ai[.](data_source[.]id|token[.]type|embeddings[.]dimension[.]count)",
            "traceloop[.](span[.]kind|workflow[.]name|entity[.](name|path|version))",
            "gen_ai[.](sdk[.]version|environment|application_name)",
        ),
    ),
    (
        "where the call went and how it failed, without the error body",
        (
            "server[.](address|port)|http[.]request[.]method|http[.]response[.]status_code",
            "error[.]type",
        ),
    ),
    (
        "the bundle's own columns and counts",
        (
            "openrouter[.](provider|cost_status|free_tier|model_vendor|is_byok|upstream_cost"
            "|billed_cost|simulated)",
            "openrouter[.]error[.](code|message|provider_name|mid_stream)",
            "openrouter[.]ledger[.].+",
            "otel[.]dropped_attributes_count|content_policy[.]removed_attributes",
        ),
    ),
)

# The column that says how many attributes the allow-list removed from a span.
REMOVED_COUNT = "content_policy.removed_attributes"

# What makes a span a GenAI span: an attribute in a GenAI namespace (or OpenInference's
# input.value / output.value, matched in the JSON list of the span's keys), or a GenAI
# instrumentation's scope (OpenInference's, OpenLIT's, Traceloop's, OpenTelemetry's GenAI
# instrumentations, the Vercel AI SDK's `ai` tracer).
GENAI_KEY_PATTERN = '"((gen_ai|llm|ai|traceloop|openinference)[.]|(input|output)[.]value")'
GENAI_SCOPE_PATTERN = (
    "^(openinference[.]|openlit|traceloop|ai$"
    "|opentelemetry[.]instrumentation[.](genai|openai|anthropic|bedrock|vertexai|langchain))"
)

_EXTRA_NAME = re.compile(r"[A-Za-z0-9_@:/-]+(?:[.][A-Za-z0-9_@:/-]+)*(?:[.][*])?")


def allowed_names(extra: list[str] | tuple[str, ...] = ()) -> tuple[list[str], str]:
    """The allow-list, `extra` included, as the collector applies it: the exact names (for
    OTTL's keep_keys, a set lookup per key) and one anchored RE2 pattern for the families
    (`gen_ai.usage.*`, ...). One pattern for the whole list, matched against every key of
    every GenAI span, made Go's regexp run its slowest engine: 40% of the collector's CPU."""
    fragments = [fragment for _, fragments in METADATA_ATTRIBUTES for fragment in fragments]
    fragments += [_extra_fragment(name) for name in extra]
    names = {name for fragment in fragments for name in _expand(fragment)}
    families = sorted(
        name.removesuffix(_FAMILY).removesuffix(".") for name in names if name.endswith(_FAMILY)
    )
    exact = sorted(name for name in names if not name.endswith(_FAMILY))
    prefixes = "|".join(re.escape(prefix) for prefix in families)
    return exact, f"^({prefixes})[.].+$"


_ANY = ".+"  # a family: any name after this prefix
_FAMILY = "\x00"  # marks a family's name while expanding


def _expand(fragment: str) -> list[str]:
    """Every name a table fragment stands for: literals, `[.]`, groups of alternatives, and a
    trailing `.+` (kept as such)."""
    alternatives, _ = _expand_from(fragment.replace("[.]", "."), 0)
    return alternatives


def _expand_from(text: str, i: int) -> tuple[list[str], int]:
    """The alternatives of `text` from `i` to its matching `)` (or its end), and where it
    stopped."""
    done: list[str] = []
    current = [""]
    while i < len(text):
        if text[i] == "(":
            inner, i = _expand_from(text, i + 1)
            current = [head + tail for head in current for tail in inner]
            continue
        if text[i] == ")":
            return done + current, i + 1
        if text[i] == "|":
            done, current = done + current, [""]
        elif text.startswith(_ANY, i):
            current = [head + _FAMILY for head in current]
            i += len(_ANY) - 1
        else:
            current = [head + text[i] for head in current]
        i += 1
    return done + current, i


def _extra_fragment(name: str) -> str:
    """A CONTENT_ALLOW_ATTRIBUTES entry as a fragment: a name, or a prefix ending in `.*`."""
    if name.endswith(".*"):
        return name[:-2].replace(".", "[.]") + "[.].+"
    return name.replace(".", "[.]")


def invalid_extra_name(name: str) -> bool:
    """True for a CONTENT_ALLOW_ATTRIBUTES entry that is not an attribute name or prefix."""
    return _EXTRA_NAME.fullmatch(name) is None


def readme_table() -> str:
    """The allow-list as the README shows it (a test keeps the two the same)."""
    rows = ["| What | Attribute names (regular expressions, matched whole) |", "|---|---|"]
    for why, fragments in METADATA_ATTRIBUTES:
        names = "<br>".join(f"`{fragment.replace('|', '&#124;')}`" for fragment in fragments)
        rows.append(f"| {why} | {names} |")
    return "\n".join(rows)
