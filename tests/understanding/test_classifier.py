"""The intent classifier: calibration, out-of-scope detection, clarification, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from procpilot.understanding.classifier import OOS, IntentClassifier


def cluster(center: np.ndarray, n: int, rng: np.random.Generator, spread: float = 0.15) -> np.ndarray:
    points = center + rng.normal(0, spread, size=(n, len(center)))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.fixture
def data() -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    dims = 16
    centers = {name: np.eye(dims)[i] for i, name in enumerate(["pay", "refund", "card", OOS])}
    train_x, train_y, val_x, val_y = [], [], [], []
    for name, center in centers.items():
        train_x.append(cluster(center, 30, rng))
        train_y += [name] * 30
        val_x.append(cluster(center, 20, rng))
        val_y += [name] * 20
    return np.vstack(train_x), train_y, np.vstack(val_x), val_y


def test_fit_calibrate_predict(data: tuple[np.ndarray, list[str], np.ndarray, list[str]]) -> None:
    train_x, train_y, val_x, val_y = data
    classifier = IntentClassifier().fit(train_x, train_y, validation=(val_x, val_y))
    predictions = classifier.predict_vectors(val_x)
    inscope = [p.intent == y for p, y in zip(predictions, val_y, strict=True) if y != OOS]
    caught = [p.intent is None for p, y in zip(predictions, val_y, strict=True) if y == OOS]
    assert np.mean(inscope) > 0.95 and np.mean(caught) > 0.95
    assert 0.5 <= classifier.temperature <= 3.0


def test_far_away_messages_are_out_of_scope(
    data: tuple[np.ndarray, list[str], np.ndarray, list[str]],
) -> None:
    train_x, train_y, val_x, val_y = data
    classifier = IntentClassifier().fit(train_x, train_y, validation=(val_x, val_y))
    classifier.similarity_floor = 0.5
    stranger = np.zeros((1, train_x.shape[1]))
    stranger[0, -1] = 1.0
    [prediction] = classifier.predict_vectors(stranger)
    assert prediction.intent is None and not prediction.candidates


def test_two_close_intents_ask_for_clarification(
    data: tuple[np.ndarray, list[str], np.ndarray, list[str]],
) -> None:
    train_x, train_y, *_ = data
    classifier = IntentClassifier().fit(train_x, train_y)
    between = np.zeros((1, train_x.shape[1]))
    between[0, 0] = between[0, 1] = 1 / np.sqrt(2)
    [prediction] = classifier.predict_vectors(between)
    assert prediction.intent is None and set(prediction.candidates) == {"pay", "refund"}


def test_save_and_load_give_the_same_predictions(
    tmp_path: Path, data: tuple[np.ndarray, list[str], np.ndarray, list[str]]
) -> None:
    train_x, train_y, val_x, val_y = data
    classifier = IntentClassifier().fit(train_x, train_y, validation=(val_x, val_y))
    classifier.save(tmp_path / "v1")
    again = IntentClassifier.load(tmp_path / "v1")
    assert again.predict_vectors(val_x) == classifier.predict_vectors(val_x)
    assert not list(tmp_path.rglob("*.pkl"))  # plain JSON and NumPy, no pickle


def test_no_validation_data_leaves_safe_defaults(
    data: tuple[np.ndarray, list[str], np.ndarray, list[str]],
) -> None:
    train_x, train_y, *_ = data
    classifier = IntentClassifier().fit(train_x, train_y)
    classifier.choose_thresholds(np.zeros((0, train_x.shape[1])), [])
    assert (classifier.threshold, classifier.similarity_floor) == (0.0, 0.0)
