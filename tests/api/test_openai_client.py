"""The official ``openai`` client against the running server (uvicorn on loopback): models, chat
completions with and without streaming, conversations kept by header or by the resent messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.api.conftest import Env, make_env
from tests.llm.server import LoopbackServer


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Env, str]]:
    for env in make_env(tmp_path):
        with LoopbackServer(env.client.app) as server:  # type: ignore[arg-type]
            yield env, server.url


def client_for(env: Env, url: str) -> openai.OpenAI:
    key = env.key("acme")["Authorization"].removeprefix("Bearer ")
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=30)


def test_models_are_the_packs(served: tuple[Env, str]) -> None:
    env, url = served
    assert [m.id for m in client_for(env, url).models.list()] == ["mini"]


def test_a_whole_flow_through_chat_completions_resending_the_chat(served: tuple[Env, str]) -> None:
    env, url = served
    client = client_for(env, url)
    chat: list[dict] = []
    answers = []
    for text in ("send money to a friend", "Alice", "20 dollars", "tomorrow", "yes"):
        chat.append({"role": "user", "content": text})
        completion = client.chat.completions.create(model="mini", messages=chat)  # type: ignore[arg-type]
        answer = completion.choices[0].message.content or ""
        assert completion.choices[0].finish_reason == "stop"
        answers.append(answer)
        chat.append({"role": "assistant", "content": answer})
    assert answers[0] == "Who should receive the money?"
    assert answers[-1].startswith("Sent. Reference")
    # One conversation, found each time from the messages the client resent.
    conversations = env.client.get(
        "/api/conversations?all=true", headers=env.key("acme", ("auditor",))
    ).json()
    assert len(conversations) == 1 and conversations[0]["channel"] == "openai"


def test_streaming_and_the_conversation_header(served: tuple[Env, str]) -> None:
    env, url = served
    client = client_for(env, url)
    header = {"X-Procpilot-Conversation": "chat-42"}
    stream = client.chat.completions.create(
        model="mini",
        messages=[{"role": "user", "content": "send money to a friend"}],
        stream=True,
        extra_headers=header,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Who should receive the money?"
    assert len(chunks) > 3 and chunks[-1].choices[0].finish_reason == "stop"
    # The header alone names the conversation: the client need not resend the chat.
    raw = client.chat.completions.with_raw_response.create(
        model="mini", messages=[{"role": "user", "content": "Alice"}], extra_headers=header
    )
    assert raw.parse().choices[0].message.content == "How much?"
    conversation = raw.headers["x-procpilot-conversation"]
    again = client.chat.completions.with_raw_response.create(
        model="mini", messages=[{"role": "user", "content": "20 dollars"}], extra_headers=header
    )
    assert again.headers["x-procpilot-conversation"] == conversation


def test_errors_reach_the_client_as_status_errors(served: tuple[Env, str]) -> None:
    env, url = served
    with pytest.raises(openai.NotFoundError, match="no pack 'nope'"):
        client_for(env, url).chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key="pp_wrong", max_retries=0).models.list()
    with pytest.raises(openai.BadRequestError, match="last message must be a user message"):
        client_for(env, url).chat.completions.create(
            model="mini", messages=[{"role": "assistant", "content": "hello"}]
        )


def test_choices_come_numbered_in_the_text_and_a_number_picks_one(served: tuple[Env, str]) -> None:
    env, url = served
    client = client_for(env, url)
    chat: list[dict] = []
    answer = ""
    for text in ("send money to a friend", "Alice", "20 dollars", "tomorrow"):
        chat.append({"role": "user", "content": text})
        answer = client.chat.completions.create(model="mini", messages=chat).choices[0].message.content or ""  # type: ignore[arg-type]
        chat.append({"role": "assistant", "content": answer})
    lines = answer.splitlines()
    assert lines[0].startswith("Send $20.00 to Alice") and lines[1:] == ["1. Yes", "2. No"]
    chat.append({"role": "user", "content": "1"})
    done = client.chat.completions.create(model="mini", messages=chat).choices[0].message.content or ""  # type: ignore[arg-type]
    assert done.startswith("Sent. Reference")
    # By header too, and streamed: the same numbered text.
    header = {"X-Procpilot-Conversation": "numbers"}
    for text in ("send money to a friend", "Bob", "5 dollars", "today"):
        streamed = client.chat.completions.create(
            model="mini", messages=[{"role": "user", "content": text}], stream=True, extra_headers=header
        )
        answer = "".join(c.choices[0].delta.content or "" for c in streamed)
    assert answer.endswith("\n1. Yes\n2. No")
    declined = client.chat.completions.create(
        model="mini", messages=[{"role": "user", "content": "2"}], extra_headers=header
    )
    assert declined.choices[0].message.content == "Okay, I won't send it."


def test_usage_reports_the_model_calls_a_message_made(served: tuple[Env, str]) -> None:
    from procpilot.llm.providers.scripted import ScriptedModel

    env, url = served
    client = client_for(env, url)
    plain = client.chat.completions.create(
        model="mini", messages=[{"role": "user", "content": "what is my balance"}]
    )
    assert plain.usage is not None and plain.usage.total_tokens == 0  # the rules understood: no model
    answer = '{"commands": [{"command": "start_flow", "flow": "check_balance"}]}'
    env.container.models.registry.add(ScriptedModel(lambda request: answer, name="understander"))
    env.container.settings.tenant_models["acme"] = {"commands": {"model": "understander"}}
    used = client.chat.completions.create(
        model="mini", messages=[{"role": "user", "content": "how much have I got"}]
    )
    assert used.usage is not None and used.usage.completion_tokens > 0
    assert used.usage.total_tokens == used.usage.prompt_tokens + used.usage.completion_tokens
    stream = client.chat.completions.create(
        model="mini",
        messages=[{"role": "user", "content": "what is my balance please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
