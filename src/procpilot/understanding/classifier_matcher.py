"""Intent matching by the trained classifier, behind the same ``best(text)`` as the example matcher."""

from __future__ import annotations

from procpilot.understanding.classifier import IntentClassifier
from procpilot.understanding.embeddings import Encoder
from procpilot.understanding.example_matcher import Match


class ClassifierMatcher:
    """``best(text) -> (match or None, close candidates)``; scores are confidences times 100."""

    digression = 70.0  # calibrated confidence, in percent, needed to leave an open question

    def __init__(self, classifier: IntentClassifier, encoder: Encoder) -> None:
        self.classifier = classifier
        self.encoder = encoder

    def best(self, text: str) -> tuple[Match | None, list[Match]]:
        [prediction] = self.classifier.predict_vectors(self.encoder.encode([text]))
        if prediction.intent is not None:
            return Match(prediction.intent, prediction.confidence * 100), []
        if prediction.candidates:
            scores = dict(prediction.ranking)
            return None, [Match(label, scores.get(label, 0.0) * 100) for label in prediction.candidates]
        return None, []
