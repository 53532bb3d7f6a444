"""The fine-tuning pieces that must hold exactly for a resumed run to equal an uninterrupted one:
the order of examples, the learning rate, the answer-only labels; and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from procpilot.domain.errors import UserError
from procpilot.llm.providers.embedded import default_model_path
from procpilot.training.tuning import (
    IGNORE,
    ChatExample,
    TuningSettings,
    encode,
    export_gguf,
    learning_rate,
    load_base,
    schedule,
)


def test_the_order_of_examples_is_a_function_of_the_seed_alone() -> None:
    plan = schedule(10, 7, 4, seed=3)
    assert plan == schedule(10, 7, 4, seed=3)
    assert plan != schedule(10, 7, 4, seed=4)
    assert all(len(batch) == 4 for batch in plan)
    first_epoch = [i for batch in plan for i in batch][:10]
    assert sorted(first_epoch) == list(range(10))  # every example once before any twice


def test_the_learning_rate_warms_up_then_decays_to_a_tenth() -> None:
    s = TuningSettings(steps=20, warmup_steps=4, learning_rate=1e-4)
    rates = [learning_rate(s, step) for step in range(20)]
    assert rates[0] == pytest.approx(2.5e-5) and rates[3] == pytest.approx(1e-4)
    assert rates[4:] == sorted(rates[4:], reverse=True)
    assert learning_rate(s, 20) == pytest.approx(1e-5)


def test_unknown_settings_are_ignored_and_known_ones_kept() -> None:
    s = TuningSettings.of({"steps": 3, "base": "/x", "held_out": 0.2})
    assert s.steps == 3 and TuningSettings.of(s.as_dict()) == s


def test_only_the_answer_is_learnt() -> None:
    _, tokenizer = load_base(default_model_path())
    example = ChatExample(
        (("system", "Commands as JSON."), ("user", "what is my balance")), '{"commands": []}'
    )
    ids, labels = encode(tokenizer, example, 256)
    assert len(ids) == len(labels)
    answer = [t for t, label in zip(ids, labels, strict=True) if label != IGNORE]
    assert tokenizer.decode(answer).startswith('{"commands": []}')
    assert labels[0] == IGNORE and labels[-1] != IGNORE
    assert encode(tokenizer, example, 8) is None  # longer than max_length


def test_bad_bases_and_exports_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no base model"):
        load_base(tmp_path / "missing.gguf")
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(UserError, match=r"a \.gguf file or a Hugging Face model folder"):
        load_base(tmp_path / "weights.bin")
    with pytest.raises(UserError, match="holds no trained model"):
        export_gguf(tmp_path, tmp_path / "out.gguf")
