"""Training, versioning and promoting a pack's intent classifier.

Artifacts live in ``DATA_DIR/models/<pack>/intents/<version>/``; ``promoted.json`` beside them names
the version the server loads. Training data: each startable flow's examples and its name; the
out-of-scope threshold is chosen on a validation split plus out-of-scope queries (the pack's
``tests/out_of_scope.txt`` if it has one, otherwise CLINC150's validation set).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from procpilot.domain.errors import UserError
from procpilot.domain.flows import Pack
from procpilot.domain.review import OUT_OF_SCOPE
from procpilot.packs.loader import load_pack
from procpilot.services.platform.settings import Settings
from procpilot.understanding.classifier import OOS, IntentClassifier, batched
from procpilot.understanding.embeddings import Encoder, MiniLMEncoder


@dataclass(frozen=True)
class TrainedModel:
    pack: str
    version: str
    folder: Path
    metrics: dict[str, Any]


def training_data(pack: Pack) -> tuple[list[str], list[str]]:
    """Each startable flow's examples and name, plus labelled utterances from ``data/nlu.yaml``
    (messages from real conversations, annotated with the flow they asked for)."""
    texts, labels = [], []
    for flow in pack.user_flows():
        for text in (*flow.examples, flow.title) if flow.examples else ():
            texts.append(text)
            labels.append(flow.id)
    for text, flow_id in labelled_utterances(pack):
        texts.append(text)
        labels.append(flow_id)
    if len(set(labels)) < 2:
        raise UserError(f"pack {pack.id!r} needs examples for at least two flows to train intents")
    return texts, labels


def labelled_utterances(pack: Pack) -> list[tuple[str, str]]:
    """``data/nlu.yaml``: ``{flow_id: [utterance, ...]}``; unknown flows are a clear error."""
    path = Path(pack.root) / "data" / "nlu.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of flow ids to lists of utterances")
    pairs = []
    for flow_id, utterances in data.items():
        if flow_id not in pack.flows or pack.flows[flow_id].pattern:
            raise UserError(f"{path}: {flow_id!r} is not a flow of pack {pack.id!r}")
        pairs += [(str(text), str(flow_id)) for text in utterances or []]
    return pairs


def out_of_scope_examples(pack: Pack, split: str = "validation") -> list[str]:
    """Messages the pack must not take for one of its flows: the pack's own
    ``tests/out_of_scope.txt`` (validation) or ``data/out_of_scope.txt`` (training) if present,
    otherwise CLINC150's out-of-scope queries of that split."""
    own = Path(pack.root) / ("tests" if split == "validation" else "data") / "out_of_scope.txt"
    name = "data/out_of_scope.txt" if split == "validation" else "data/out_of_scope_train.txt"
    source = own if own.is_file() else resources.files("procpilot.understanding").joinpath(name)
    return [line.strip() for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]


def data_fingerprint(pack: Pack, encoder_name: str, reviewed: Sequence[tuple[str, str]] = ()) -> str:
    """A hash of everything a training run learns from: the same one means the same model."""
    texts, labels = training_data(pack)
    content = {
        "examples": list(zip(texts, labels, strict=True)),
        "reviewed": [list(pair) for pair in reviewed],
        "out_of_scope": [out_of_scope_examples(pack, "training"), out_of_scope_examples(pack)],
        "encoder": encoder_name,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def unchanged(data_dir: Path, pack: Pack, fingerprint: str) -> TrainedModel | None:
    """The promoted version when it was trained from exactly this data, else None."""
    pointer = models_root(data_dir, pack.id) / "promoted.json"
    if not pointer.is_file():
        return None
    version = json.loads(pointer.read_text())["version"]
    meta = models_root(data_dir, pack.id) / version / "meta.json"
    if not meta.is_file():
        return None
    found = json.loads(meta.read_text())
    if found.get("fingerprint") != fingerprint:
        return None
    return TrainedModel(pack.id, version, meta.parent, found.get("metrics", {}))


def models_root(data_dir: Path, pack_id: str) -> Path:
    return data_dir / "models" / pack_id / "intents"


def train(
    pack: Pack,
    encoder: Encoder,
    data_dir: Path,
    *,
    promote: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    seed: int = 0,
    reviewed: Sequence[tuple[str, str]] = (),
    dataset: str | None = None,
    fingerprint: str | None = None,
) -> TrainedModel:
    """Train, evaluate on a held-out split, refit on everything, save a new version.

    ``reviewed``: (message, label) pairs people settled in review, from dataset version
    ``dataset`` (see ``reviewed_examples``); a label is a flow of the pack or ``out_of_scope``."""
    say = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    flow_texts, flow_labels = training_data(pack)
    reviewed_in = [(t, label) for t, label in reviewed if label != OUT_OF_SCOPE]
    unknown = sorted(
        {label for _, label in reviewed_in if label not in pack.flows or pack.flows[label].pattern}
    )
    if unknown:
        raise UserError(f"dataset {dataset}: {', '.join(unknown)} is not a flow of pack {pack.id!r}")
    flow_texts += [t for t, _ in reviewed_in]
    flow_labels += [label for _, label in reviewed_in]
    # An explicit out-of-scope class, trained on other people's everyday requests (and on the
    # messages reviewers labelled out of scope).
    negatives = out_of_scope_examples(pack, "training") + [
        t for t, label in reviewed if label == OUT_OF_SCOPE
    ]
    texts, labels = flow_texts + negatives, flow_labels + [OOS] * len(negatives)
    held_out_oos = out_of_scope_examples(pack)
    everything = texts + held_out_oos
    vectors = batched(encoder, everything, lambda done: say("encoding", done, len(everything)))
    train_vectors, oos_vectors = vectors[: len(texts)], vectors[len(texts) :]
    # Hold out one example in five of each intent (with three or more) to calibrate on.
    rng = random.Random(seed)
    held: set[int] = set()
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(flow_labels):
        by_label.setdefault(label, []).append(index)
    for indices in by_label.values():
        if len(indices) >= 3:
            held.update(rng.sample(indices, max(1, len(indices) // 5)))
    fit_idx = [i for i in range(len(texts)) if i not in held]
    val_idx = sorted(held)
    say("fitting", 0, 1)
    trial = IntentClassifier().fit(train_vectors[fit_idx], [labels[i] for i in fit_idx])
    val_vectors = np.vstack([train_vectors[val_idx], oos_vectors])
    val_labels = [labels[i] for i in val_idx] + [OOS] * len(held_out_oos)
    trial.calibrate(val_vectors, val_labels)
    predictions = trial.predict_vectors(val_vectors)
    pairs = list(zip(predictions, val_labels, strict=True))
    inscope_correct = [p.intent == label for p, label in pairs if label != OOS]
    oos_caught = [p.intent is None and not p.candidates for p, label in pairs if label == OOS]
    final = IntentClassifier().fit(train_vectors, labels)
    final.temperature = trial.temperature
    final.threshold = trial.threshold
    final.similarity_floor = trial.similarity_floor
    final.metrics = {
        "examples": len(flow_texts),
        "intents": len(set(flow_labels)),
        "validation_inscope_accuracy": round(float(np.mean(inscope_correct)), 4) if inscope_correct else None,
        "validation_oos_recall": round(float(np.mean(oos_caught)), 4) if oos_caught else None,
        "threshold": round(final.threshold, 4),
        "similarity_floor": round(final.similarity_floor, 4),
        "encoder": encoder.name,
        "seconds": round(time.perf_counter() - started, 2),
        "reviewed_examples": len(reviewed),
        "dataset": dataset,
    }
    say("fitting", 1, 1)
    root = models_root(data_dir, pack.id)
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = root / version
    final.save(folder)
    (folder / "meta.json").write_text(
        json.dumps(
            {
                "pack": pack.id,
                "pack_version": pack.version,
                "version": version,
                "dataset": dataset,
                "fingerprint": fingerprint or data_fingerprint(pack, encoder.name, reviewed),
                "metrics": final.metrics,
            },
            indent=2,
        )
    )
    if promote:
        promote_version(data_dir, pack.id, version)
    return TrainedModel(pack.id, version, folder, final.metrics)


def promote_version(data_dir: Path, pack_id: str, version: str) -> None:
    root = models_root(data_dir, pack_id)
    if not (root / version / "classifier.json").is_file():
        raise UserError(f"pack {pack_id!r} has no intent model version {version!r}")
    temp = root / "promoted.json.tmp"
    temp.write_text(json.dumps({"version": version}))
    temp.replace(root / "promoted.json")


def promoted(data_dir: Path, pack_id: str) -> IntentClassifier | None:
    """The promoted classifier of a pack, or None when it has none."""
    pointer = models_root(data_dir, pack_id) / "promoted.json"
    if not pointer.is_file():
        return None
    version = json.loads(pointer.read_text())["version"]
    return IntentClassifier.load(models_root(data_dir, pack_id) / version)


def versions(data_dir: Path, pack_id: str) -> list[dict[str, Any]]:
    root = models_root(data_dir, pack_id)
    found = []
    for meta in sorted(root.glob("*/meta.json")):
        found.append(json.loads(meta.read_text()))
    return found


# The use cases the CLI and API call: training reads the pack from its folder.


def reviewed_examples(pack: Pack, items: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(message, label) of a dataset version's items of this pack whose review settled an intent
    (a flow, or out of scope); rejected items are left out. The messages are redacted, as the
    dataset holds them: ``<PERSON_1>`` trains as well as a name, and leaks nothing."""
    pairs = []
    for item in items:
        review = item.get("review") or {}
        if item.get("pack") == pack.id and review.get("intent") and not review.get("rejected"):
            pairs.append((str(item["text"]), str(review["intent"])))
    return pairs


def train_pack(
    folder: Path,
    settings: Settings,
    *,
    promote: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    dataset: tuple[str, Sequence[dict[str, Any]]] | None = None,
    force: bool = False,
) -> tuple[TrainedModel, bool]:
    """Train a pack's intents; ``dataset``: (version id, its items) adds the reviewed turns.
    Returns the model and whether it was trained now: when the promoted version learnt from
    exactly the same data (and ``force`` is not set), it is kept and nothing is trained."""
    pack = load_pack(folder).pack
    reviewed = reviewed_examples(pack, dataset[1]) if dataset else []
    if dataset and not reviewed:
        raise UserError(
            f"dataset {dataset[0]} has no reviewed turn of pack {pack.id!r} labelled with an intent"
        )
    encoder = MiniLMEncoder(settings.embedding_model_path)
    fingerprint = data_fingerprint(pack, encoder.name, reviewed)
    if promote and not force and (kept := unchanged(settings.data_dir, pack, fingerprint)) is not None:
        return kept, False
    return train(
        pack,
        encoder,
        settings.data_dir,
        promote=promote,
        progress=progress,
        reviewed=reviewed,
        dataset=dataset[0] if dataset else None,
        fingerprint=fingerprint,
    ), True


def promote_pack_version(settings: Settings, pack_id: str, version: str) -> None:
    promote_version(settings.data_dir, pack_id, version)


def list_versions(settings: Settings, pack_id: str) -> list[dict[str, Any]]:
    pointer = models_root(settings.data_dir, pack_id) / "promoted.json"
    current = json.loads(pointer.read_text())["version"] if pointer.is_file() else None
    return [{**row, "promoted": row["version"] == current} for row in versions(settings.data_dir, pack_id)]
