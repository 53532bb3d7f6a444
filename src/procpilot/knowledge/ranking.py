"""Re-ranking the candidates of both searches, and deciding whether anything relevant was found.

Both searches propose chunks (full text by BM25, vectors by cosine similarity); every candidate is
then scored by one linear model over features that say how well it fits the question:

    cosine        the question's and the chunk's embeddings (computed for every candidate, so a chunk
                  found only by its words is not left without one)
    cosine_rank   1 / the chunk's place by cosine: first, second, ...
    doc_cosine    the best cosine of any candidate chunk of the same document
    sentence      the best cosine of one of the chunk's sentences: a fact sits in one line, which a
                  whole chunk's embedding dilutes
    title_cosine  the question's and the document title's embeddings
    bm25          the chunk's full-text score over the best one (0 when full text did not find it)
    covered       how much of the question (its words weighted by rarity) the chunk holds
    title         how much of the question the document's title holds
    title_extra   how much of the title the question does not mention: "Gold Plus Saver" answers a
                  question about "Gold savings" worse than "Gold Account" does
    both          found by both searches

Ranking by a weighted sum of signals, rather than by reciprocal ranks alone, keeps a strong vector
match first when the full-text side only matched common words. The weights, and those of the
"nothing found" decision (``Abstention``), are fitted on a development set of questions by
``procpilot bench kb --calibrate`` and stored in ``calibration.json`` next to this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procpilot.knowledge.vocabulary import Vocabulary, stem, words

FEATURES = (
    "cosine",
    "cosine_rank",
    "doc_cosine",
    "sentence",
    "title_cosine",
    "bm25",
    "covered",
    "title",
    "title_extra",
    "both",
)
ABSTENTION_FEATURES = ("score", "cosine", "margin", "agree", "covered", "unknown")
CALIBRATION = Path(__file__).with_name("calibration.json")


def weighted_terms(terms: Sequence[str], vocabulary: Vocabulary) -> dict[str, float]:
    """Stems of the question's terms, each weighted by its rarity in the collection."""
    out: dict[str, float] = {}
    for term in terms:
        key = stem(term)
        out[key] = max(out.get(key, 0.0), vocabulary.idf(term))
    return out


def coverage(weights: dict[str, float], text: str) -> float:
    """The share of the question's weight whose stems ``text`` holds."""
    total = sum(weights.values())
    if not total:
        return 0.0
    present = {stem(w) for w in words(text)}
    return sum(weight for key, weight in weights.items() if key in present) / total


def title_extra(
    weights: dict[str, float], title: str, vocabulary: Vocabulary, generic: frozenset[str]
) -> float:
    """The share of the title's weight (its rarer words) that the question does not mention."""
    parts = {stem(w): vocabulary.idf(w) for w in words(title) if stem(w) not in generic and len(w) > 2}
    total = sum(parts.values())
    if not total:
        return 0.0
    return sum(weight for key, weight in parts.items() if key not in weights) / total


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    document_id: int
    title: str
    text: str
    cosine: float
    bm25: float | None  # the full-text score, None when full text did not find it
    in_vectors: bool
    sentence: float = 0.0
    title_cosine: float = 0.0


def features(
    candidates: Sequence[Candidate],
    weights: dict[str, float],
    vocabulary: Vocabulary,
    generic: frozenset[str] = frozenset(),
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate."""
    best_bm25 = max((c.bm25 for c in candidates if c.bm25 is not None), default=0.0) or 1.0
    by_cosine = sorted(range(len(candidates)), key=lambda k: -candidates[k].cosine)
    place = {k: n for n, k in enumerate(by_cosine, start=1)}
    document_best: dict[int, float] = {}
    for c in candidates:
        document_best[c.document_id] = max(document_best.get(c.document_id, -1.0), c.cosine)
    rows = []
    for k, c in enumerate(candidates):
        rows.append(
            [
                c.cosine,
                1.0 / place[k],
                document_best[c.document_id],
                c.sentence,
                c.title_cosine,
                (c.bm25 or 0.0) / best_bm25,
                coverage(weights, f"{c.title}\n{c.text}"),
                coverage(weights, c.title),
                title_extra(weights, c.title, vocabulary, generic),
                float(c.bm25 is not None and c.in_vectors),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(candidates), len(FEATURES))


@dataclass(frozen=True)
class Calibration:
    """The ranker's weights, the abstention model and its threshold, and how they were chosen."""

    ranker: tuple[float, ...]
    abstention: tuple[float, ...]  # weights of ABSTENTION_FEATURES, then the intercept
    threshold: float
    sibling_margin: float = 1.0  # how close (in ranker score) sibling documents must be to ask which
    # A passage this close to the question is found whatever the other signals say: closer than any
    # question of the development set that the documents do not answer came. It keeps the model's
    # verdict from refusing plain matches in collections unlike the one it was fitted on.
    strong_cosine: float = 0.62
    note: str = ""

    @classmethod
    def load(cls, path: Path = CALIBRATION) -> Calibration:
        if not path.is_file():
            return DEFAULT
        data = json.loads(path.read_text(encoding="utf-8"))
        calibration = cls(
            tuple(float(x) for x in data["ranker"]),
            tuple(float(x) for x in data["abstention"]),
            float(data["threshold"]),
            float(data.get("sibling_margin", 1.0)),
            float(data.get("strong_cosine", 0.62)),
            str(data.get("note", "")),
        )
        if (
            len(calibration.ranker) != len(FEATURES)
            or len(calibration.abstention) != len(ABSTENTION_FEATURES) + 1
        ):
            raise ValueError(f"{path}: weights do not match the features {FEATURES} / {ABSTENTION_FEATURES}")
        return calibration

    def save(self, path: Path = CALIBRATION) -> None:
        data = {
            "features": list(FEATURES),
            "ranker": [round(x, 4) for x in self.ranker],
            "abstention_features": list(ABSTENTION_FEATURES),
            "abstention": [round(x, 4) for x in self.abstention],
            "threshold": round(self.threshold, 4),
            "sibling_margin": round(self.sibling_margin, 4),
            "strong_cosine": round(self.strong_cosine, 4),
            "note": self.note,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def rank(self, rows: np.ndarray) -> np.ndarray:
        return rows @ np.asarray(self.ranker) if len(rows) else np.zeros(0)

    def found(self, signals: Sequence[float]) -> bool:
        """Whether what was found answers the question (``signals``: ABSTENTION_FEATURES)."""
        return self.answerable(signals) >= self.threshold or signals[1] >= self.strong_cosine

    def answerable(self, signals: Sequence[float]) -> float:
        """The probability that the question is answered by what was found."""
        *weights, intercept = self.abstention
        z = float(np.dot(weights, signals)) + intercept
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# Before any calibration: cosine and words count, the title a little; "found" from cosine alone.
DEFAULT = Calibration(
    ranker=(4.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -0.5, 0.3),
    abstention=(0.0, 12.0, 0.0, 0.0, 0.0, 0.0, -4.2),
    threshold=0.5,
    sibling_margin=1.0,
    note="defaults",
)


def fit_ranker(
    groups: Sequence[tuple[np.ndarray, np.ndarray]], *, steps: int = 600, rate: float = 0.5
) -> np.ndarray:
    """Weights that put a right candidate first: per question, the softmax over its candidates'
    scores is pushed towards the right ones (``groups``: (rows, is_right) per question)."""
    weights = np.zeros(len(FEATURES))
    usable = [(x, y.astype(float)) for x, y in groups if len(x) and y.any() and not y.all()]
    for _ in range(steps):
        gradient = np.zeros_like(weights)
        for rows, right in usable:
            scores = rows @ weights
            p = np.exp(scores - scores.max())
            p /= p.sum()
            target = right / right.sum()
            gradient += rows.T @ (p - target)
        weights -= rate * (gradient / max(1, len(usable)) + 1e-3 * weights)
    return weights


def fit_logistic(
    rows: np.ndarray, labels: np.ndarray, *, steps: int = 3000, rate: float = 0.5, l2: float = 1e-3
) -> np.ndarray:
    """Logistic regression by gradient descent on standardised features; weights then intercept,
    in the features' own units."""
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    x = np.hstack([(rows - mean) / scale, np.ones((len(rows), 1))])
    w = np.zeros(x.shape[1])
    y = labels.astype(float)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        w -= rate * (x.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0.0])
    weights = w[:-1] / scale
    intercept = w[-1] - float(np.dot(weights, mean))
    return np.r_[weights, intercept]
