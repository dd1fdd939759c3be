// An app on the Vercel AI SDK calling OpenRouter (the simulator) through its
// OpenAI-compatible provider, with the SDK's telemetry exported over OTLP/HTTP.
// Usage: node app.mjs BASE_URL OTLP_ENDPOINT (ok | refused)
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { generateText, streamText } from "ai";

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

if (mode === "ok") {
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
