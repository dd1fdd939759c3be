"""Installed as `openrouter_openobserve.collector`: the collector config template, the
collector distribution's ocb manifest, and the OpenObserve dashboards and alerts, as package
data (see openrouter_openobserve.bundle_files). No code lives here."""
