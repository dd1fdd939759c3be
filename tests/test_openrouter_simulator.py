"""The OpenRouter simulator answers the real OpenAI client in OpenRouter's shape."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import openai
import pytest

from openrouter_openobserve.client import openrouter_client
from openrouter_openobserve.testing.openrouter_simulator import CATALOGUE, OpenRouterSimulator


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


def raw_post(simulator: OpenRouterSimulator, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        simulator.base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-or-v1-test"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def sse_events(payload: bytes) -> list[str]:
    return [block for block in payload.decode().split("\n\n") if block]


def test_stream_is_shaped_like_openrouter_sse(simulator: OpenRouterSimulator) -> None:
    status, payload = raw_post(
        simulator,
        {
            "model": "openai/gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "a b"}],
        },
    )
    assert status == 200
    events = sse_events(payload)
    assert events[0] == ": OPENROUTER PROCESSING"
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[1:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["provider"] == "OpenAI" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Simulated answer from openai/gpt-4o-mini: a b"
    *_, finishing, final = chunks
    assert finishing["choices"][0]["finish_reason"] == "stop"
    assert final["choices"] == []
    assert final["usage"]["cost"] > 0
    assert final["usage"]["total_tokens"] == (
        final["usage"]["prompt_tokens"] + final["usage"]["completion_tokens"]
    )


def test_stream_through_the_openai_client(simulator: OpenRouterSimulator) -> None:
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    stream = client.chat.completions.create(
        model="anthropic/claude-3.5-haiku",
        messages=[{"role": "user", "content": "x y"}],
        stream=True,
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("x y")
    assert chunks[-1].usage.total_tokens > 0


def test_mid_stream_error_chunk(simulator: OpenRouterSimulator) -> None:
    simulator.fail_mid_stream()
    status, payload = raw_post(
        simulator,
        {
            "model": "openai/gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "a"}],
        },
    )
    assert status == 200  # the HTTP status was already sent when the error happened
    chunks = [json.loads(e.removeprefix("data: ")) for e in sse_events(payload)[1:-1]]
    broken = chunks[-1]
    assert broken["error"] == {
        "code": "server_error",
        "message": "Provider disconnected unexpectedly",
    }
    assert broken["choices"][0]["finish_reason"] == "error"
    assert not any("usage" in c for c in chunks)


def test_tool_call_when_tools_are_offered(simulator: OpenRouterSimulator) -> None:
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    response = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "?"}], tools=[tool]
    )
    assert response.choices[0].finish_reason == "tool_calls"
    assert response.choices[0].message.tool_calls[0].function.name == "lookup"


def test_reasoning_model_reports_reasoning_tokens(simulator: OpenRouterSimulator) -> None:
    status, payload = raw_post(
        simulator,
        {"model": "deepseek/deepseek-r1", "messages": [{"role": "user", "content": "hm"}]},
    )
    assert status == 200
    body = json.loads(payload)
    assert body["choices"][0]["message"]["reasoning"]
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_repeated_opening_reads_from_the_cache(simulator: OpenRouterSimulator) -> None:
    messages = [
        {"role": "system", "content": "shared system prompt"},
        {"role": "user", "content": "q"},
    ]
    first = json.loads(
        raw_post(simulator, {"model": "openai/gpt-4o-mini", "messages": messages})[1]
    )
    second = json.loads(
        raw_post(simulator, {"model": "openai/gpt-4o-mini", "messages": messages})[1]
    )
    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert second["usage"]["prompt_tokens_details"]["cached_tokens"] > 0
    assert second["usage"]["cost"] < first["usage"]["cost"]


def test_byok_bills_the_fee_and_reports_upstream_cost(simulator: OpenRouterSimulator) -> None:
    simulator.byok = True
    body = json.loads(
        raw_post(
            simulator,
            {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "q"}]},
        )[1]
    )
    usage = body["usage"]
    assert usage["is_byok"] is True
    assert usage["cost"] == pytest.approx(usage["cost_details"]["upstream_inference_cost"] * 0.05)


@pytest.mark.parametrize("status", [400, 401, 402, 429, 502, 503])
def test_injected_errors_use_openrouter_error_json(
    simulator: OpenRouterSimulator, status: int
) -> None:
    simulator.fail(status)
    code, payload = raw_post(simulator, {"model": "x/y", "messages": []})
    assert code == status
    error = json.loads(payload)["error"]
    assert error["code"] == status and error["message"]
    assert raw_post(simulator, {"model": "x/y", "messages": []})[0] == 200  # only once


def test_latency_is_added_before_the_answer(simulator: OpenRouterSimulator) -> None:
    simulator.latency_s = 0.3
    started = time.monotonic()
    raw_post(
        simulator, {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "q"}]}
    )
    assert time.monotonic() - started >= 0.3


def test_plain_openai_mode_answers_in_openais_shape() -> None:
    with OpenRouterSimulator(plain_openai=True) as other:
        client = openai.OpenAI(api_key="sk-test", base_url=other.base_url, max_retries=0)
        response = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            pass
        other.fail(429)
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user"}])
    assert other.base_url.endswith("/v1") and not other.base_url.endswith("/api/v1")
    assert response.id.startswith("chatcmpl-") and response.model == "gpt-4o-mini"
    answered = [other.requests[0]["response"], *other.requests[1]["response"]]
    for document in answered:
        assert "provider" not in document
        assert all("native_finish_reason" not in choice for choice in document["choices"])
        assert "cost" not in document.get("usage", {}) and "is_byok" not in document.get(
            "usage", {}
        )
    body = refused.value.body  # OpenAI's error shape: a type, no metadata
    assert isinstance(body, dict) and body["type"] == "invalid_request_error"
    assert body["message"] and "metadata" not in body


def ledger_get(simulator: OpenRouterSimulator, path: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        simulator.base_url + path, headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_ledger_answers_a_generation_after_its_lag(simulator: OpenRouterSimulator) -> None:
    """API reference, "Get request & usage metadata for a generation"."""
    simulator.ledger.lag_s = 0.5
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    answer = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    status, body = ledger_get(simulator, f"/generation?id={answer.id}", "sk-or-v1-test")
    assert (status, body["error"]["code"]) == (404, 404)
    time.sleep(0.6)
    status, body = ledger_get(simulator, f"/generation?id={answer.id}", "sk-or-v1-test")
    assert status == 200
    data = body["data"]
    usage = simulator.requests[-1]["response"]["usage"]
    assert (data["id"], data["model"], data["provider_name"]) == (
        answer.id,
        "openai/gpt-4o-mini",
        "OpenAI",
    )
    assert data["total_cost"] == usage["cost"] and data["streamed"] is False
    assert data["native_tokens_prompt"] == usage["prompt_tokens"]
    simulator.ledger.api_keys = {"sk-or-v1-other"}
    assert ledger_get(simulator, f"/generation?id={answer.id}", "sk-or-v1-test")[0] == 401


def test_activity_is_per_completed_day_model_and_provider_for_management_keys(
    simulator: OpenRouterSimulator,
) -> None:
    """API reference, "Get user activity grouped by endpoint": the last 30 completed UTC
    days, a management key only."""
    simulator.ledger.management_keys = {"sk-or-v1-management"}
    client = openrouter_client(api_key="sk-or-v1-test", base_url=simulator.base_url)
    for _ in range(2):
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    today = time.strftime("%Y-%m-%d", time.gmtime())
    status, body = ledger_get(simulator, f"/activity?date={today}", "sk-or-v1-management")
    assert status == 400  # today is not a completed day
    assert ledger_get(simulator, "/activity", "sk-or-v1-test")[0] == 403
    assert ledger_get(simulator, "/activity", "")[0] == 401
    simulator.ledger.clock = lambda: time.time() + 86_400
    status, body = ledger_get(simulator, f"/activity?date={today}", "sk-or-v1-management")
    assert status == 200
    [item] = body["data"]
    costs = [r["response"]["usage"]["cost"] for r in simulator.requests]
    assert (item["date"], item["model"], item["provider_name"], item["requests"]) == (
        today,
        "openai/gpt-4o-mini",
        "OpenAI",
        2,
    )
    assert item["usage"] == pytest.approx(sum(costs))
