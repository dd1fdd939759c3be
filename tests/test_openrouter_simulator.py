"""The OpenRouter simulator answers the real OpenAI client in OpenRouter's shape."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from app.client import openrouter_client
from app.openrouter_simulator import CATALOGUE, OpenRouterSimulator


def test_response_carries_openrouter_fields(simulator: OpenRouterSimulator) -> None:
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    response = client.chat.completions.create(
        model="meta-llama/llama-3.1-8b-instruct",
        messages=[{"role": "user", "content": "one two three"}],
    )
    raw = simulator.requests[-1]["response"]
    assert response.id.startswith("gen-")
    assert response.model == "meta-llama/llama-3.1-8b-instruct"
    assert raw["provider"] == "DeepInfra"
    usage = raw["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    model = CATALOGUE["meta-llama/llama-3.1-8b-instruct"]
    expected = (
        usage["prompt_tokens"] * model.prompt_usd_per_token
        + usage["completion_tokens"] * model.completion_usd_per_token
    )
    assert usage["cost"] == pytest.approx(expected)
    assert usage["cost"] > 0
    assert response.usage.total_tokens == usage["total_tokens"]


def test_free_model_costs_nothing_and_keeps_its_slug(simulator: OpenRouterSimulator) -> None:
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    response = client.chat.completions.create(
        model="deepseek/deepseek-r1:free", messages=[{"role": "user", "content": "hi"}]
    )
    assert response.model == "deepseek/deepseek-r1:free"
    assert simulator.requests[-1]["response"]["usage"]["cost"] == 0


def test_attribution_headers_reach_openrouter(
    simulator: OpenRouterSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_HTTP_REFERER", "https://example.com/app")
    monkeypatch.setenv("OPENROUTER_APP_TITLE", "Bundle test")
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
    )
    headers = {k.lower(): v for k, v in simulator.requests[-1]["headers"].items()}
    assert headers["http-referer"] == "https://example.com/app"
    assert headers["x-openrouter-title"] == "Bundle test"
    assert headers["authorization"] == "Bearer sk-or-v1-test"


def test_missing_key_is_401_in_openrouter_error_shape(simulator: OpenRouterSimulator) -> None:
    request = urllib.request.Request(
        simulator.base_url + "/chat/completions",
        data=json.dumps({"model": "x/y", "messages": []}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 401
    assert json.loads(error.value.read())["error"]["code"] == 401
