"""Which spans are counted as OpenRouter calls: one row per HTTP request, whatever the stack.

The rule needs no list of frameworks:
- The span of a *client instrumentation*, the layer that wraps the HTTP client and makes one
  span per request, is the call: OpenInference's, OpenTelemetry's and Traceloop's OpenAI
  instrumentations, OpenLIT's, and the Vercel AI SDK's `do*` spans. A framework on top
  (LangChain, Pydantic AI, Semantic Kernel, an agent SDK, one nobody has seen yet) makes
  spans of its own for the same request: they keep their attributes and are not counted.
- Where no client instrumentation runs, the app says so on its resource
  (`OTEL_RESOURCE_ATTRIBUTES=openrouter.llm_spans=framework`): then the framework's LLM spans
  are the calls, and a client instrumentation's are not (so it still counts once).

Which calls are OpenRouter's: the answer's marks (a `gen-` id, the upstream `provider`, the
billed cost `openrouter_client()` recorded) say so, whatever host answered (a proxy in front
of OpenRouter included). A call without an answer (a failed one) is OpenRouter's when it
recorded OpenRouter's host as `server.address`, or asked for a `vendor/model` slug and
recorded no other host: a loopback address (a local proxy, a stand-in) decides nothing.
"""

from __future__ import annotations

# Instrumentation scopes of the client instrumentations (RE2, matched whole).
CLIENT_SCOPES = (
    "^(openinference[.]instrumentation[.]openai"
    "|opentelemetry[.]instrumentation[.](genai[.]openai|openai_v2|openai[.]v1)"
    "|openlit[.]instrumentation[.]openai"
    "|ai)$"
)
# server.address (a host, or a URL as some frameworks record it) naming OpenRouter.
OPENROUTER_ADDRESS = "^(https?://)?([^/:]*[.])?openrouter[.]ai([:/]|$)"
# server.address naming this machine: says nothing about who answered.
LOOPBACK_ADDRESS = "^(https?://)?(localhost|127[.][0-9.]+|[[]?::1[]]?)([:/]|$)"
