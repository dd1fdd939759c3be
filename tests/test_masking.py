"""Masking keeps its guarantee and leaves prose alone: through the real collector, under every
content policy, a corpus of ordinary sentences ("basic", "bearer", long numbers in timestamps
and ids) arrives unchanged, and a corpus of real credential shapes never arrives at all, in
an attribute, a status message or an event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from tests.harness import Collector, emulator_settings, wait_for

PROSE = [
    "Give me a basic introduction to bearer bonds, then a Basic overview of bearer instruments",
    "The Bearer of this letter learnt BASIC in 1984; Basic English, BEARER BONDS, Bearer shares",
    "Basic authentication sends a Basic header, Bearer authentication a Bearer header",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7 at 1732791234567890123 ns",
    "order 1234567890123456 and invoice 2024-11-28-000123 left gate 12 at 17:32:05",
    "sk-or is OpenRouter's key prefix; sk-orange is not a key, nor is task-or-subtask",
    "call client.basic_auth(user) and set headers['Authorization'] from the vault",
]
# E-mail-like strings in code: prose to every policy but `redacted`, which masks e-mail.
CODE_WITH_ADDRESSES = ["git remote add origin git@github.com:acme/app.git"]
# (credential as it appears in text, the part that must never arrive, its mask)
CREDENTIALS = [
    ("sk-or-v1-" + "0123456789abcdef" * 4, "0123456789abcdef" * 4, "sk-or-***"),
    (
        "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2Q",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "Bearer ***",
    ),
    ("bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E", "Bearer ***"),
    ("BEARER 1a2b3c4d5e6f", "1a2b3c4d5e6f", "Bearer ***"),
    ("Bearer abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz", "Bearer ***"),
    ("Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "Basic ***"),
    ("basic YWRtaW46c2VjcmV0", "YWRtaW46c2VjcmV0", "Basic ***"),
    ("BASIC cm9vdDpyb290", "cm9vdDpyb290", "Basic ***"),
]


def send(collector: Collector, texts: dict[str, str]) -> None:
    """One failed span per text: in an attribute, the status message and an event."""
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=collector.otlp_grpc_endpoint, insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("corpus")
    for name, text in texts.items():
        with tracer.start_as_current_span(name) as span:
            span.set_attribute("note", text)
            span.set_attribute("input.value", text)
            span.add_event("exception", {"exception.message": text})
            span.set_status(Status(StatusCode.ERROR, text))
    provider.shutdown()


@pytest.fixture(scope="module", params=["metadata", "full", "redacted"])
def corpus_rows(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    policy = request.param
    texts = {f"prose-{i}": text for i, text in enumerate(PROSE)}
    texts |= {f"code-{i}": text for i, text in enumerate(CODE_WITH_ADDRESSES)}
    texts |= {f"secret-{i}": f"header: {text} (sent)" for i, (text, _, _) in enumerate(CREDENTIALS)}
    with OpenObserveEmulator() as emulator:
        env = emulator_settings(emulator, CONTENT_POLICY=policy)
        collector = Collector(tmp_path_factory.mktemp(policy), env).start()
        try:
            send(collector, texts)
            rows = wait_for(
                lambda: (
                    (r := emulator.rows("llm_traces", org="acme")) and len(r) >= len(texts) and r
                ),
                what="the corpus spans",
            )
        finally:
            collector.stop()
    yield policy, {row["operation_name"]: row for row in rows}


def kept_text(policy: str, row: dict[str, Any]) -> list[str]:
    """Every place the text was sent to and the policy keeps."""
    places = [row["note"], row["status_message"], json.loads(row["events"])[0]["exception.message"]]
    # OpenObserve moves input.value of any span that has one to gen_ai_input_messages.
    return places + ([row["gen_ai_input_messages"]] if policy != "metadata" else [])


def test_prose_arrives_unchanged(corpus_rows: tuple[str, dict[str, dict[str, Any]]]) -> None:
    policy, rows = corpus_rows
    for number, text in enumerate(PROSE):
        arrived = kept_text(policy, rows[f"prose-{number}"])
        assert arrived == [text] * len(arrived)
    for number, text in enumerate(CODE_WITH_ADDRESSES):
        arrived = kept_text(policy, rows[f"code-{number}"])
        if policy == "redacted":
            assert all("<email>" in value for value in arrived)
        else:
            assert arrived == [text] * len(arrived)


def test_credentials_never_arrive(corpus_rows: tuple[str, dict[str, dict[str, Any]]]) -> None:
    policy, rows = corpus_rows
    stored = json.dumps(rows)
    for number, (_, secret, mask) in enumerate(CREDENTIALS):
        assert secret not in stored
        arrived = kept_text(policy, rows[f"secret-{number}"])
        assert arrived == [f"header: {mask} (sent)"] * len(arrived)
