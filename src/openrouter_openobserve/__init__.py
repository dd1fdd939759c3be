"""OpenRouter -> OpenTelemetry Collector -> OpenObserve: every OpenRouter request of a Python
app observable in OpenObserve.

- `openrouter_openobserve.tracing.setup_tracing()`: one-call tracing setup for your service;
- `openrouter_openobserve.client.openrouter_client()`: the OpenAI client, pointed at OpenRouter;
- commands: `render-config`, `run-collector`, `doctor`, `provision`, `report` (also as
  subcommands of `openrouter-openobserve`);
- `openrouter_openobserve.collector`: the collector config template, the collector
  distribution's manifest, the OpenObserve dashboards and alerts (package data);
- `openrouter_openobserve.testing`: stand-ins for OpenObserve and OpenRouter (the `testing`
  extra), for tests and offline demos.
"""
