"""Training a pack's intent classifier with the real embedding model; promotion; the server loading it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from procpilot.bench import nlu as bench_nlu
from procpilot.domain.commands import CannotHandle, Clarify, StartFlow
from procpilot.domain.state import DialogueState
from procpilot.services.models import intent_models
from procpilot.services.packs.catalog import PackCatalog
from procpilot.understanding.classifier_matcher import ClassifierMatcher
from tests.conftest import RETAIL


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, retail_loaded: Any, minilm: Any) -> tuple[Path, Any]:
    data_dir = tmp_path_factory.mktemp("data")
    model = intent_models.train(retail_loaded.pack, minilm, data_dir)
    return data_dir, model


def test_training_writes_a_promoted_version_with_metrics(trained: tuple[Path, Any]) -> None:
    data_dir, model = trained
    assert model.metrics["intents"] == 10 and model.metrics["examples"] > 50
    assert model.metrics["validation_oos_recall"] >= 0.8
    meta = json.loads((model.folder / "meta.json").read_text())
    assert meta["pack"] == "retail" and meta["version"] == model.version
    assert intent_models.promoted(data_dir, "retail") is not None


def test_the_catalog_serves_the_promoted_classifier(
    trained: tuple[Path, Any], minilm: Any, tmp_path: Path
) -> None:
    data_dir, _ = trained
    catalog = PackCatalog(RETAIL.parent, data_dir=data_dir, encoder=lambda: minilm)
    runtime = catalog.add(RETAIL)
    assert isinstance(runtime.understanding.intents, ClassifierMatcher)
    expect = runtime.engine.expectation(DialogueState())
    nlu = runtime.understanding
    assert nlu.understand("can I send back the blender I got last week", expect) == [
        StartFlow("return_items")
    ]
    assert nlu.understand("book me a flight to Paris", expect) == [CannotHandle()]
    assert isinstance(nlu.understand("change my order", expect)[0], Clarify)
    without = PackCatalog(RETAIL.parent, data_dir=tmp_path, encoder=lambda: minilm).add(RETAIL)
    assert not isinstance(without.understanding.intents, ClassifierMatcher)


def test_promoting_an_older_version_and_reloading(
    trained: tuple[Path, Any], retail_loaded: Any, minilm: Any
) -> None:
    data_dir, first = trained
    second = intent_models.train(retail_loaded.pack, minilm, data_dir, promote=False)
    assert (
        json.loads((data_dir / "models" / "retail" / "intents" / "promoted.json").read_text())["version"]
        == first.version
    )
    intent_models.promote_version(data_dir, "retail", second.version)
    catalog = PackCatalog(RETAIL.parent, data_dir=data_dir, encoder=lambda: minilm)
    catalog.add(RETAIL)
    assert isinstance(catalog.reload_models("retail").understanding.intents, ClassifierMatcher)
    assert [v["version"] for v in intent_models.versions(data_dir, "retail")] == sorted(
        [first.version, second.version]
    )


def test_the_nlu_benchmark_runs_end_to_end_on_a_small_set(tmp_path: Path) -> None:
    rows = [
        (f"please {verb} my card number {i}", f"{verb}_card")
        for verb in ("freeze", "activate", "replace")
        for i in range(12)
    ]
    for name, part in (("train.csv", rows[::2] + rows[1::4]), ("test.csv", rows[1::2])):
        with open(tmp_path / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "category"])
            writer.writerows(part)
    report = bench_nlu.run("banking77", tmp_path)
    assert report["accuracy"] > 90 and report["train_examples"] > 0
    assert report["ms_per_query_single_p50"] > 0 and report["queries_per_second_batched"] > 0


def test_labelled_utterances_are_training_data_and_checked(tmp_path: Path, retail_loaded: Any) -> None:
    texts, labels = intent_models.training_data(retail_loaded.pack)
    assert ("I need to send something back", "return_items") in zip(texts, labels, strict=True)
    import shutil

    from procpilot.domain.errors import UserError
    from procpilot.packs.loader import load_pack

    copy = tmp_path / "retail"
    shutil.copytree(RETAIL, copy, ignore=shutil.ignore_patterns("db.json"))
    (copy / "data" / "db.json").write_text("{}")
    (copy / "data" / "nlu.yaml").write_text("no_such_flow: [hello]\n")
    with pytest.raises(UserError, match="'no_such_flow' is not a flow"):
        intent_models.training_data(load_pack(copy).pack)


def test_the_nlu_benchmark_scores_out_of_scope_on_a_small_clinc_style_set(tmp_path: Path) -> None:
    def rows(n: int, offset: int) -> list[list[str]]:
        found = []
        for intent, words in (
            ("weather", "what is the weather in"),
            ("timer", "set a timer for"),
            ("music", "play songs by"),
        ):
            found += [[f"{words} {place}", intent] for place in (f"place {offset + i}" for i in range(n))]
        return found

    strangers = [[f"how do volcanoes form number {i}", "oos"] for i in range(12)]
    data = {
        "train": rows(10, 0),
        "oos_train": strangers[:4],
        "val": rows(4, 100),
        "oos_val": strangers[4:8],
        "test": rows(4, 200),
        "oos_test": strangers[8:],
    }
    (tmp_path / "data_full.json").write_text(json.dumps(data))
    report = bench_nlu.run("clinc150", tmp_path)
    assert report["inscope_accuracy"] > 80 and 0 <= report["oos_recall"] <= 100
    assert set(report["operating_points"]) == {f"validation_oos_recall>={t}" for t in (0.7, 0.8, 0.9)}


def test_the_nlu_benchmark_few_shot(tmp_path: Path) -> None:
    rows = [
        (f"please {verb} my card number {i}", f"{verb}_card")
        for verb in ("freeze", "activate")
        for i in range(8)
    ]
    for name, part in (("train.csv", rows), ("test.csv", rows[::3])):
        with open(tmp_path / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "category"])
            writer.writerows(part)
    report = bench_nlu.run("banking77", tmp_path, shots=3)
    assert report["train_examples"] == 6 and report["shots"] == 3


def test_training_again_with_nothing_changed_keeps_the_promoted_version(tmp_path: Path) -> None:
    from procpilot.services.platform.settings import Settings
    from tests.conftest import MINI

    pack = tmp_path / "mini"
    import shutil

    shutil.copytree(MINI, pack)
    settings = Settings(data_dir=tmp_path / "data", packs_dir=tmp_path)
    first, fresh = intent_models.train_pack(pack, settings)
    assert fresh
    again, fresh = intent_models.train_pack(pack, settings)
    assert not fresh and again.version == first.version
    forced, fresh = intent_models.train_pack(pack, settings, force=True)
    assert fresh and forced.version != first.version
    flows = pack / "flows" / "others.yaml"
    flows.write_text(flows.read_text().replace("[close my account]", "[close my account, shut my account]"))
    changed, fresh = intent_models.train_pack(pack, settings)
    assert fresh and changed.version not in (first.version, forced.version)
