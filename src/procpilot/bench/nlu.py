"""``procpilot bench nlu``: intent accuracy (and out-of-scope recall) on BANKING77 and CLINC150.

Trains on the train split, chooses thresholds on the validation split only (CLINC150; BANKING77
has none, so a slice of train is held out for calibration), reports on the test split, with
training time and classification speed. Methods: ``lr`` (frozen MiniLM + logistic regression) and
``finetune`` (MiniLM fine-tuned end to end first).
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from procpilot.bench.report import Figures
from procpilot.domain.errors import UserError
from procpilot.understanding.classifier import OOS, IntentClassifier, batched
from procpilot.understanding.embeddings import MiniLMEncoder, packaged_model_path
from procpilot.understanding.encoder_tuning import finetune

Split = tuple[list[str], list[str]]

PUBLISHED = {
    "banking77": {"full": "93.66% (BERT-large fine-tuned; USE+ConveRT 93.36%)", "10": "85.19% (USE+ConveRT)"},
    "clinc150": {"full": "96.2% in-scope, 52.3% out-of-scope recall (BERT, threshold)"},
}


def load(dataset: str, data: Path) -> dict[str, Split]:
    if dataset == "banking77":

        def read(name: str) -> Split:
            with open(data / name, newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            return [r["text"] for r in rows], [r["category"] for r in rows]

        return {"train": read("train.csv"), "test": read("test.csv")}
    if dataset == "clinc150":
        raw = json.loads((data / "data_full.json").read_text(encoding="utf-8"))

        def split(*names: str) -> Split:
            items = [pair for name in names for pair in raw[name]]
            return [t for t, _ in items], [OOS if label == "oos" else label for _, label in items]

        return {
            "train": split("train"),
            "oos_train": split("oos_train"),
            "val": split("val", "oos_val"),
            "test": split("test", "oos_test"),
        }
    raise UserError(f"dataset must be banking77 or clinc150, not {dataset!r}")


def few_shot(split: Split, shots: int, seed: int = 0) -> Split:
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(*split, strict=True):
        by_label[label].append(text)
    texts, labels = [], []
    for label in sorted(by_label):
        for text in rng.sample(by_label[label], min(shots, len(by_label[label]))):
            texts.append(text)
            labels.append(label)
    return texts, labels


def run(
    dataset: str,
    data: Path,
    *,
    shots: int | None = None,
    method: str = "lr",
    epochs: int = 3,
    use_oos_train: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda _: None)
    if method not in ("lr", "finetune"):
        raise UserError("method must be lr or finetune")
    splits = load(dataset, data)
    train = splits["train"]
    if shots:
        train = few_shot(train, shots)
    full_train = train
    if dataset == "banking77":
        # No validation split: hold out 10% of train (per intent) to calibrate and set thresholds.
        rng = random.Random(1)
        held = set(rng.sample(range(len(train[0])), len(train[0]) // 10)) if not shots else set()
        val = ([train[0][i] for i in sorted(held)], [train[1][i] for i in sorted(held)])
        train = (
            [t for i, t in enumerate(train[0]) if i not in held],
            [t for i, t in enumerate(train[1]) if i not in held],
        )
    else:
        val = splits["val"]
        if use_oos_train:
            train = (train[0] + splits["oos_train"][0], train[1] + splits["oos_train"][1])
    started = time.perf_counter()
    tuning: dict[str, Any] = {}
    encoder_path = None
    workdir = tempfile.TemporaryDirectory(prefix="procpilot-nlu-")
    if method == "finetune":
        say(f"fine-tuning the encoder on {len(train[0])} examples, {epochs} epochs")
        encoder_path = Path(workdir.name) / "encoder"
        last = [0.0]

        def report(step: int, steps: int, loss: float) -> None:
            if step % 50 == 0 or step == steps:
                say(f"  step {step}/{steps} loss {loss:.3f} ({time.perf_counter() - started:.0f}s)")
            last[0] = loss

        # BANKING77 has no validation split: the encoder learns from all of train; the held-out
        # slice only calibrates the head below (CLINC150 keeps its own validation split apart).
        tuned_on = full_train if dataset == "banking77" else train
        tuning = finetune(
            packaged_model_path(), tuned_on[0], tuned_on[1], encoder_path, epochs=epochs, progress=report
        )
    encoder = MiniLMEncoder(encoder_path)
    say("encoding the training data")
    train_vectors = batched(encoder, train[0])
    classifier = IntentClassifier(margin=0.0).fit(train_vectors, train[1], keep_examples=True)
    say("calibrating on the validation data")
    val_vectors = batched(encoder, val[0])
    if val[0]:  # few-shot training keeps every example for training: nothing to calibrate on
        classifier.calibrate(val_vectors, val[1])
    if dataset == "banking77" and val[0]:
        # Refit on the whole training split, keeping the calibrated temperature and thresholds.
        calibrated = classifier
        classifier = IntentClassifier(margin=0.0).fit(
            np.vstack([train_vectors, val_vectors]), train[1] + val[1], keep_examples=True
        )
        classifier.temperature = calibrated.temperature
        classifier.threshold = calibrated.threshold
        classifier.similarity_floor = calibrated.similarity_floor
        train = full_train
    train_seconds = time.perf_counter() - started

    say("scoring the test split")
    test_vectors = batched(encoder, splits["test"][0])
    predictions = classifier.predict_vectors(test_vectors)
    gold = splits["test"][1]
    results: dict[str, Any] = {
        "dataset": dataset,
        "method": method,
        "shots": shots or "full",
        "train_examples": len(train[0]),
        "train_minutes": round(train_seconds / 60, 2),
        "fine_tuning": tuning or None,
        "threshold": round(classifier.threshold, 4),
        "similarity_floor": round(classifier.similarity_floor, 4),
        "temperature": round(classifier.temperature, 3),
    }
    if dataset == "clinc150":
        # Further operating points, also chosen on validation only: the best in-scope accuracy
        # among thresholds that catch at least this share of the validation out-of-scope queries.
        results["operating_points"] = {}
        for target in (0.7, 0.8, 0.9):
            strict = IntentClassifier(
                labels=classifier.labels,
                coef=classifier.coef,
                intercept=classifier.intercept,
                temperature=classifier.temperature,
                examples=classifier.examples,
                margin=0.0,
            )
            strict.choose_thresholds(val_vectors, val[1], min_oos_recall=target)
            point: dict[str, Any] = _clinc_scores(strict.predict_vectors(test_vectors), splits["test"][1])
            point["threshold"] = round(strict.threshold, 4)
            point["similarity_floor"] = round(strict.similarity_floor, 4)
            results["operating_points"][f"validation_oos_recall>={target}"] = point
    top1 = [p.ranking[0][0] for p in predictions]
    inscope = [i for i, label in enumerate(gold) if label != OOS]
    if dataset == "banking77":
        results["accuracy"] = round(float(np.mean([top1[i] == gold[i] for i in inscope])) * 100, 2)
    else:
        results.update(_clinc_scores(predictions, gold))
    results["published"] = PUBLISHED.get(dataset, {}).get(str(shots) if shots else "full")
    # Speed: one query at a time (encode + classify), then in batches.
    queries = splits["test"][0][:200]
    singles = []
    for text in queries[:100]:
        t0 = time.perf_counter()
        classifier.predict_vectors(encoder.encode([text]))
        singles.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    classifier.predict_vectors(batched(encoder, queries, size=64))
    results["ms_per_query_single_p50"] = round(statistics.median(singles), 2)
    results["ms_per_query_single_p95"] = round(float(np.quantile(singles, 0.95)), 2)
    results["queries_per_second_batched"] = round(len(queries) / (time.perf_counter() - t0), 1)
    workdir.cleanup()
    return results


def _clinc_scores(predictions: list[Any], gold: list[str]) -> dict[str, float]:
    """In-scope accuracy (answered with the right intent) and out-of-scope recall (not answered)."""
    accepted = [p.intent is not None or bool(p.candidates) for p in predictions]
    chosen = [p.intent or (p.candidates[0] if p.candidates else None) for p in predictions]
    inscope = [i for i, label in enumerate(gold) if label != OOS]
    oos = [i for i, label in enumerate(gold) if label == OOS]
    return {
        "inscope_accuracy": round(float(np.mean([chosen[i] == gold[i] for i in inscope])) * 100, 2),
        "oos_recall": round(float(np.mean([not accepted[i] for i in oos])) * 100, 2),
    }


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"{report['dataset']}: {report['method']}, {report['shots']} shots, {report['train_examples']} examples",
        ["figure", "%"],
    )
    for key in ("accuracy", "inscope_accuracy", "oos_recall"):
        if key in report:
            table.add(key, report[key])
    for name, point in (report.get("operating_points") or {}).items():
        table.add(f"{name}: in scope / out of scope", f"{point['inscope_accuracy']} / {point['oos_recall']}")
    table.notes += [
        f"published: {report['published']}",
        f"training: {report['train_minutes']} min; threshold {report['threshold']},"
        f" similarity floor {report['similarity_floor']}",
        f"one query: p50 {report['ms_per_query_single_p50']} ms, p95 {report['ms_per_query_single_p95']} ms;"
        f" batched {report['queries_per_second_batched']} queries/s",
    ]
    return table
