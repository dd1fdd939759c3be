"""Masking keeps its guarantee and leaves prose alone, measured on corpora nobody here wrote
(scripts/masking_corpus.py), through the real collector: the English sentences the locked
environment's packages ship arrive unchanged under `full` and `redacted` (at most 0.1%
altered; the goal and today's figure is none), and every credential of each provider's
documented format is masked under every policy, in an attribute, a status message and an
event. Under `redacted`, card numbers are masked exactly when they pass the Luhn check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from openrouter_openobserve.testing.openobserve_emulator import OpenObserveEmulator
from scripts.masking_corpus import (
    card_corpus,
    credential_corpus,
    prose_corpus,
    random_ids,
    through_collector,
)
from tests.harness import Collector, emulator_settings, wait_for

# Cases that once went wrong, besides the corpora.
PROSE = [
    "Give me a basic introduction to bearer bonds, then a Basic overview of bearer instruments",
    "The Bearer of this letter learnt BASIC in 1984; Basic English, BEARER BONDS, Bearer shares",
    "Basic authentication sends a Basic header, Bearer authentication a Bearer header",
    "A basic input/output system, the bearer sentence. Basic self-explanatory, bearer HTTP/1.1.",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7 at 1732791234567890123 ns",
    "order 1234567890123456 and invoice 2024-11-28-000123 left gate 12 at 17:32:05",
    "sk-or is OpenRouter's key prefix; sk-orange is not a key, nor is task-or-subtask",
    "call client.basic_auth(user) and set headers['Authorization'] from the vault",
]


@pytest.fixture(scope="module")
def prose() -> list[str]:
    return [*prose_corpus(), *PROSE]


@pytest.mark.parametrize("policy", ["full", "redacted"])
def test_prose_arrives_unchanged(prose: list[str], policy: str, tmp_path: Path) -> None:
    arrived = through_collector(policy, prose, tmp_path)
    altered = [(sent, got) for sent, got in zip(prose, arrived, strict=True) if sent != got]
    assert len(prose) > 10_000
    assert len(altered) <= len(prose) // 1000, altered[:20]
    assert [got for sent, got in altered if sent in PROSE] == []


@pytest.mark.parametrize("policy", ["metadata", "full", "redacted"])
def test_every_credential_is_masked_in_an_attribute(policy: str, tmp_path: Path) -> None:
    corpus = credential_corpus()
    arrived = through_collector(policy, [text for _, text, _ in corpus], tmp_path)
    pairs = zip(corpus, arrived, strict=True)
    leaked = [(kind, got) for (kind, _, secret), got in pairs if secret in got]
    assert leaked == []
    assert all("***" in got for got in arrived)  # masked, not dropped


def one_of_each_kind() -> list[tuple[str, str, str]]:
    return list({kind: (kind, text, secret) for kind, text, secret in credential_corpus()}.values())


def send(collector: Collector, texts: list[str]) -> None:
    """One failed span per text, in its status message and an exception event."""
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=collector.otlp_grpc_endpoint, insecure=True)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("corpus")
    for number, text in enumerate(texts):
        with tracer.start_as_current_span(f"text {number}") as span:
            span.add_event("exception", {"exception.message": text})
            span.set_status(Status(StatusCode.ERROR, text))
    provider.shutdown()


@pytest.fixture(scope="module", params=["metadata", "full", "redacted"])
def status_and_event_rows(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[tuple[str, str, str]], dict[str, dict[str, Any]]]]:
    corpus = one_of_each_kind()
    with OpenObserveEmulator() as emulator:
        env = emulator_settings(emulator, CONTENT_POLICY=request.param)
        collector = Collector(tmp_path_factory.mktemp(request.param), env).start()
        try:
            send(collector, [text for _, text, _ in corpus])
            rows = wait_for(
                lambda: len(r := emulator.rows("llm_traces", org="acme")) >= len(corpus) and r,
                what="the credential spans",
            )
        finally:
            collector.stop()
    yield corpus, {row["operation_name"]: row for row in rows}


def test_every_credential_is_masked_in_status_and_events(
    status_and_event_rows: tuple[list[tuple[str, str, str]], dict[str, dict[str, Any]]],
) -> None:
    corpus, rows = status_and_event_rows
    for number, (kind, _, secret) in enumerate(corpus):
        row = rows[f"text {number}"]
        places = [row["status_message"], json.loads(row["events"])[0]["exception.message"]]
        assert [place for place in places if secret in place or "***" not in place] == [], kind


def test_every_card_number_is_masked_under_redacted(tmp_path: Path) -> None:
    corpus = card_corpus()
    arrived = through_collector("redacted", [text for _, text, _ in corpus], tmp_path)
    pairs = zip(corpus, arrived, strict=True)
    assert [(network, got) for (network, _, number), got in pairs if number in got] == []
    assert all("<card-number>" in got for got in arrived)


def passes_luhn(digits: str) -> bool:
    total = sum(
        (2 * int(d) - 9 if 2 * int(d) > 9 else 2 * int(d)) if i % 2 else int(d)
        for i, d in enumerate(reversed(digits))
    )
    return total % 10 == 0


def test_only_ids_that_could_be_cards_are_masked(tmp_path: Path) -> None:
    """Random 13-19 digit ids: masked exactly when they begin like a card (3 to 6, or
    Mastercard's 2221-2720) and pass the Luhn check, one in ten of those; the rest arrive."""
    ids = random_ids()
    arrived = through_collector("redacted", ids, tmp_path)
    masked = {sent for sent, got in zip(ids, arrived, strict=True) if sent != got}
    could_be_cards = {
        i for i in ids if (i[0] in "3456" or "2221" <= i[:4] <= "2720") and passes_luhn(i)
    }
    assert masked == could_be_cards
    assert len(masked) < len(ids) // 15
