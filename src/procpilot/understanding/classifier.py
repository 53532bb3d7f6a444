"""The intent classifier: sentence embeddings, a logistic-regression head, calibrated confidence,
and out-of-scope detection with thresholds chosen on validation data.

Prediction says one of three things: a confident intent; out of scope (the best probability is
under the threshold, or the message is far from every training example); or a clarification
between close intents (the runner-up has at least ``margin`` times the winner's probability).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from procpilot.understanding.embeddings import Encoder

OOS = "oos"


@dataclass(frozen=True)
class Prediction:
    """``intent`` is None when out of scope; ``candidates`` has the close intents to ask between."""

    intent: str | None
    confidence: float
    similarity: float
    candidates: tuple[str, ...] = ()
    ranking: tuple[tuple[str, float], ...] = ()


@dataclass
class IntentClassifier:
    """Train with ``fit``; persist with ``save``/``load`` (plain JSON and NumPy, no pickle)."""

    labels: list[str] = field(default_factory=list)
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None
    temperature: float = 1.0
    threshold: float = 0.0
    similarity_floor: float = 0.0
    margin: float = 0.5
    examples: np.ndarray | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def fit(
        self,
        vectors: np.ndarray,
        labels: Sequence[str],
        *,
        c: float = 10.0,
        validation: tuple[np.ndarray, Sequence[str]] | None = None,
        keep_examples: bool = True,
    ) -> IntentClassifier:
        """Fit the head; with ``validation`` (which may hold ``oos`` labels) calibrate and set thresholds."""
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(vectors, list(labels))
        self.labels = [str(x) for x in model.classes_]
        self.coef = model.coef_.astype(np.float32)
        self.intercept = model.intercept_.astype(np.float32)
        self.examples = vectors.astype(np.float32) if keep_examples else None
        if validation is not None:
            self.calibrate(*validation)
        return self

    # ---- scoring ---------------------------------------------------------------------------
    def logits(self, vectors: np.ndarray) -> np.ndarray:
        assert self.coef is not None and self.intercept is not None, "the classifier is not trained"
        return np.asarray(vectors @ self.coef.T + self.intercept)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        z = self.logits(vectors) / self.temperature
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """Highest cosine similarity of each vector to any training example (1.0 without examples)."""
        if self.examples is None or not len(self.examples):
            return np.ones(len(vectors), dtype=np.float32)
        return np.asarray((vectors @ self.examples.T).max(axis=1))

    def calibrate(self, vectors: np.ndarray, labels: Sequence[str]) -> None:
        """Temperature scaling on in-scope validation examples, then the out-of-scope thresholds."""
        labels = list(labels)
        inscope = [i for i, label in enumerate(labels) if label != OOS and label in self.labels]
        # (an explicit "oos" class, when trained, is scored like any other class here)
        # A temperature fitted on a handful of examples, all right, just sharpens without limit:
        # fit it only on enough data, and within bounds.
        if len(inscope) >= 50:
            logits = self.logits(vectors[inscope])
            target = np.array([self.labels.index(labels[i]) for i in inscope])
            best_t, best_nll = 1.0, float("inf")
            for t in np.exp(np.linspace(np.log(0.5), np.log(3.0), 40)):
                z = logits / t
                z = z - z.max(axis=1, keepdims=True)
                nll = float(-(z[np.arange(len(target)), target] - np.log(np.exp(z).sum(axis=1))).mean())
                if nll < best_nll:
                    best_t, best_nll = float(t), nll
            self.temperature = best_t
        self.choose_thresholds(vectors, labels)

    def choose_thresholds(
        self, vectors: np.ndarray, labels: Sequence[str], *, min_oos_recall: float | None = None
    ) -> None:
        """Pick the probability threshold (and similarity floor) that maximise in-scope accuracy
        plus out-of-scope recall on the validation data (or, with ``min_oos_recall``, the best in-scope
        accuracy among thresholds that catch at least that share of out-of-scope examples); without
        out-of-scope examples, accept all but the least confident in-scope answers."""
        labels = list(labels)
        if not labels:
            self.threshold, self.similarity_floor = 0.0, 0.0
            return
        probs = self.probabilities(vectors)
        sims = self.similarities(vectors)
        top = probs.max(axis=1)
        predicted = np.array(self.labels)[probs.argmax(axis=1)]
        said_oos = predicted == OOS
        is_oos = np.array([label == OOS for label in labels])
        correct = np.array([p == label for p, label in zip(predicted, labels, strict=True)])
        if not is_oos.any():
            self.threshold = float(np.quantile(top[correct], 0.02)) if correct.any() else 0.0
            self.similarity_floor = float(np.quantile(sims, 0.02)) * 0.9
            return
        best = (-1.0, 0.0, 0.0)
        for floor in (0.0, *np.linspace(0.2, 0.7, 11)):
            for threshold in np.unique(np.quantile(top, np.linspace(0, 0.95, 96))):
                accept = (top >= threshold) & (sims >= floor) & ~said_oos
                inscope_acc = float((correct & accept)[~is_oos].mean()) if (~is_oos).any() else 0.0
                oos_recall = float((~accept)[is_oos].mean())
                if min_oos_recall is not None:
                    score = inscope_acc if oos_recall >= min_oos_recall else -1.0
                else:
                    score = inscope_acc + oos_recall
                if score > best[0]:
                    best = (score, float(threshold), float(floor))
        self.threshold, self.similarity_floor = best[1], best[2]

    def predict_vectors(self, vectors: np.ndarray) -> list[Prediction]:
        probs = self.probabilities(vectors)
        sims = self.similarities(vectors)
        out = []
        for row, sim in zip(probs, sims, strict=True):
            order = np.argsort(-row)
            ranking = tuple((self.labels[i], float(row[i])) for i in order[:5])
            best_label, best_p = ranking[0]
            runner_ups = [label for label, p in ranking[1:3] if label != OOS and p >= best_p * self.margin]
            if best_label == OOS or sim < self.similarity_floor:
                out.append(Prediction(None, best_p, float(sim), (), ranking))
            elif runner_ups:
                # Two (or three) of the pack's intents are about as likely: ask which.
                out.append(Prediction(None, best_p, float(sim), (best_label, *runner_ups), ranking))
            elif best_p < self.threshold:
                out.append(Prediction(None, best_p, float(sim), (), ranking))
            else:
                out.append(Prediction(best_label, best_p, float(sim), (), ranking))
        return out

    # ---- persistence -----------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        assert self.coef is not None and self.intercept is not None
        arrays: dict[str, np.ndarray] = {"coef": self.coef, "intercept": self.intercept}
        if self.examples is not None:
            arrays["examples"] = self.examples
        np.savez_compressed(folder / "classifier.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "labels": self.labels,
            "temperature": self.temperature,
            "threshold": self.threshold,
            "similarity_floor": self.similarity_floor,
            "margin": self.margin,
            "metrics": self.metrics,
        }
        (folder / "classifier.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> IntentClassifier:
        meta = json.loads((folder / "classifier.json").read_text())
        with np.load(folder / "classifier.npz", allow_pickle=False) as arrays:
            coef, intercept = arrays["coef"], arrays["intercept"]
            examples = arrays["examples"] if "examples" in arrays.files else None
        return cls(
            labels=meta["labels"],
            coef=coef,
            intercept=intercept,
            temperature=meta["temperature"],
            threshold=meta["threshold"],
            similarity_floor=meta["similarity_floor"],
            margin=meta["margin"],
            examples=examples,
            metrics=meta.get("metrics", {}),
        )


def batched(
    encoder: Encoder, texts: Sequence[str], progress: Callable[[int], None] | None = None, size: int = 256
) -> np.ndarray:
    """Encode in batches, reporting how many texts are done (for progress bars)."""
    parts = []
    for start in range(0, len(texts), size):
        parts.append(encoder.encode(texts[start : start + size]))
        if progress:
            progress(min(start + size, len(texts)))
    return np.vstack(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)
