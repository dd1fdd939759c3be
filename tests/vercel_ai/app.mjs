// An app on the Vercel AI SDK calling OpenRouter (the simulator) through its
// OpenAI-compatible provider, with the SDK's telemetry exported over OTLP/HTTP.
// Usage: node app.mjs BASE_URL OTLP_ENDPOINT (ok | refused | privacy)
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";

const [baseURL, endpoint, mode] = process.argv.slice(2);
const tracing = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "vercel-ai-app" }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
});
tracing.register();

const openrouter = createOpenAICompatible({
  name: "openrouter",
  baseURL,
  apiKey: "sk-or-offline-simulator",
  includeUsage: true,
});
const call = { experimental_telemetry: { isEnabled: true }, maxRetries: 0 };
const prompt = "Hello PROMPT-SENTINEL-7f3a";

// The user and the session, the way the SDK's telemetry carries them: its metadata.
const session = { isEnabled: true, metadata: { userId: "user-42", sessionId: "session-7" } };

// Privacy: a sentinel in the system prompt, the prompt and the tool's result; the simulator
// answers with a completion, a reasoning model's reasoning and a tool call of its own.
const lookup = tool({
  description: "Look something up.",
  inputSchema: jsonSchema({ type: "object", properties: { query: { type: "string" } } }),
  execute: async ({ query }) => `TOOL-RESULT-SENTINEL-4a7f for ${query}`,
});
const conversation = {
  system: "SYSTEM-SENTINEL-5c1d",
  prompt: "Hello USER-SENTINEL-9e2b",
  ...call,
  experimental_telemetry: { isEnabled: true, recordInputs: true, recordOutputs: true },
};

// The app's own span around them, as a web framework makes one per request.
const request = { "http.request.method": "POST", "http.route": "/chat", "app.tenant": "acme" };

if (mode === "privacy") {
  await tracing.getTracer("privacy-app").startActiveSpan("POST /chat", { attributes: request }, async (span) => {
    await generateText({ model: openrouter("anthropic/claude-3.5-haiku"), ...conversation });
    await generateText({ model: openrouter("deepseek/deepseek-r1"), ...conversation });
    await generateText({
      model: openrouter("anthropic/claude-3.5-haiku"),
      tools: { lookup },
      stopWhen: stepCountIs(2),
      ...conversation,
    });
    span.end();
  });
} else if (mode === "ok") {
  await generateText({
    model: openrouter("anthropic/claude-3.5-haiku"),
    prompt,
    ...call,
    experimental_telemetry: session,
  });
  const stream = streamText({ model: openrouter("openai/gpt-4o-mini"), prompt, ...call });
  for await (const _ of stream.textStream);
} else {
  try {
    await generateText({ model: openrouter("meta-llama/llama-3.1-8b-instruct"), prompt, ...call });
  } catch {
    // refused with 429: the span records it
  }
}
await tracing.shutdown();
