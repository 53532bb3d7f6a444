"""The OpenAI-compatible provider against a real server on loopback (the embedded model over HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import structlog

from procpilot.llm import ChatRequest, ModelError, ModelRateLimited, ModelTimeout, ModelUnavailable, Sampling
from procpilot.llm.providers.embedded import EmbeddedModel
from procpilot.llm.providers.openai_compatible import OpenAICompatibleModel
from tests.llm.server import Knobs, LoopbackServer, make_app

SHORT = Sampling(max_tokens=12, temperature=0.0)
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


@pytest.fixture
def knobs() -> Knobs:
    return Knobs()


@pytest.fixture
def server(embedded: EmbeddedModel, knobs: Knobs) -> Iterator[LoopbackServer]:
    with LoopbackServer(make_app(embedded, knobs)) as running:
        yield running


@pytest.fixture
def model(server: LoopbackServer) -> Iterator[Callable[..., OpenAICompatibleModel]]:
    made: list[OpenAICompatibleModel] = []

    def make(**kwargs: object) -> OpenAICompatibleModel:
        made.append(OpenAICompatibleModel(server.url, "smollm2", backoff=0.01, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for client in made:
        client.close()


def test_chat(model: Callable[..., OpenAICompatibleModel], knobs: Knobs) -> None:
    answer = model().chat(ChatRequest.of(("user", "Say hi."), sampling=SHORT))
    assert answer.text and answer.usage.completion_tokens > 0
    assert knobs.requests[0]["model"] == "smollm2" and knobs.requests[0]["max_tokens"] == 12


def test_streaming(model: Callable[..., OpenAICompatibleModel]) -> None:
    chunks = list(model().stream(ChatRequest.of(("user", "Count to three."), sampling=SHORT)))
    assert chunks[-1].done and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert "".join(c.text for c in chunks).strip()


def test_a_429_is_retried(model: Callable[..., OpenAICompatibleModel], knobs: Knobs) -> None:
    knobs.refuse = [429, 503]
    answer = model().chat(ChatRequest.of(("user", "Hi"), sampling=SHORT))
    assert answer.text and len(knobs.requests) == 3


def test_persistent_429_gives_up_clearly(model: Callable[..., OpenAICompatibleModel], knobs: Knobs) -> None:
    knobs.refuse = [429] * 5
    with pytest.raises(ModelRateLimited, match="kept answering 429"):
        model(retries=2).chat(ChatRequest.of(("user", "Hi"), sampling=SHORT))
    assert len(knobs.requests) == 3


def test_a_slow_server_times_out(model: Callable[..., OpenAICompatibleModel], knobs: Knobs) -> None:
    knobs.delay = 1.0
    with pytest.raises(ModelTimeout, match=r"within 0\.3s"):
        model().chat(ChatRequest.of(("user", "Hi"), sampling=SHORT, timeout=0.3))


def test_a_stream_is_never_retried_once_started(
    model: Callable[..., OpenAICompatibleModel], knobs: Knobs
) -> None:
    knobs.break_stream_after = 2
    received = []
    with pytest.raises(ModelError):
        for chunk in model().stream(
            ChatRequest.of(("user", "Write ten words."), sampling=Sampling(max_tokens=30))
        ):
            received.append(chunk)
    assert len(received) == 2 and len(knobs.requests) == 1


def test_schema_by_prompt_with_one_repair(model: Callable[..., OpenAICompatibleModel], knobs: Knobs) -> None:
    knobs.replies = ["sure! here you go", '{"answer": "42"}']
    answer = model(json_mode="prompt").chat(ChatRequest.of(("user", "Answer?"), json_schema=SCHEMA))
    assert answer.data == {"answer": "42"}
    assert "JSON Schema" in knobs.requests[0]["messages"][0]["content"]
    assert "That answer was invalid" in knobs.requests[1]["messages"][-1]["content"]


def test_output_that_never_parses_is_a_clear_error(
    model: Callable[..., OpenAICompatibleModel], knobs: Knobs
) -> None:
    knobs.replies = ["no", "still no"]
    with pytest.raises(ModelError, match="is not JSON"):
        model(json_mode="prompt").chat(ChatRequest.of(("user", "Answer?"), json_schema=SCHEMA))


def test_the_api_key_is_sent_but_never_logged(
    model: Callable[..., OpenAICompatibleModel], knobs: Knobs
) -> None:
    knobs.refuse = [429]
    client = model(api_key="sk-secret-123")
    with structlog.testing.capture_logs() as logs:
        client.chat(ChatRequest.of(("user", "Hi"), sampling=SHORT))
    assert knobs.headers[-1]["authorization"] == "Bearer sk-secret-123"
    assert logs and "sk-secret-123" not in repr(logs)
    assert "sk-secret-123" not in repr(client)


def test_an_endpoint_that_is_down() -> None:
    with (
        OpenAICompatibleModel("http://127.0.0.1:9/v1", "m", retries=1, backoff=0.01) as down,
        pytest.raises(ModelUnavailable, match=r"cannot be reached.*check that the server runs"),
    ):
        down.chat(ChatRequest.of(("user", "Hi"), sampling=SHORT, timeout=5))
