"""Stand-ins, for tests and offline demos only: an OpenObserve emulator whose every behaviour
follows OpenObserve's source (install the `testing` extra for its dependencies), and an
OpenRouter simulator answering in OpenRouter's response shape (standard library only).
Nothing outside this package imports it, except where a user asks for a local sink."""
