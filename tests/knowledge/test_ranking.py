"""Spelling correction, sibling documents, the ranker's fitting, answers from a document."""

from __future__ import annotations

import numpy as np

from procpilot.bench.kb import choose_threshold
from procpilot.knowledge.answers import Passage, from_document
from procpilot.knowledge.ranking import DEFAULT, FEATURES, Calibration, fit_logistic, fit_ranker
from procpilot.knowledge.siblings import family, siblings
from procpilot.knowledge.vocabulary import Vocabulary, distance

TEXTS = [
    "Mobile check deposit: the daily limit is $10,000.",
    "Withdrawal limits for checking accounts.",
    "International wire transfers cost $25.",
]


def test_a_misspelt_word_is_corrected_to_the_collections_word() -> None:
    vocabulary = Vocabulary(TEXTS)
    assert vocabulary.correct("chek") == "check"
    assert vocabulary.correct("withdrawl") == "withdrawal"
    assert vocabulary.correct("internatonal") == "international"
    assert vocabulary.correct("check") == "check"
    assert vocabulary.correct("zzzz") == "zzzz"  # nothing close: left alone


def test_a_dictionary_word_is_never_corrected() -> None:
    vocabulary = Vocabulary(["look at the limits"], dictionary=frozenset({"hook"}))
    assert vocabulary.correct("hook") == "hook"
    assert Vocabulary(["look at the limits"]).correct("hook") == "look"


def test_distance_counts_a_swap_as_one_edit() -> None:
    assert distance("form", "from") == 1
    assert distance("kitten", "sitting") == 3


def test_unknown_terms_are_those_no_text_holds() -> None:
    vocabulary = Vocabulary(TEXTS)
    assert vocabulary.unknown(["deposits", "zelle"]) == ["zelle"]
    assert vocabulary.idf("zelle") > vocabulary.idf("limit")


GENERIC = frozenset({"what", "the", "daily"})


def test_siblings_are_asked_between_when_the_question_names_neither() -> None:
    documents = [
        (1, "Gold Account: Mobile deposit limits", 3.0, "gold_account_011.json"),
        (2, "Silver Account: Mobile deposit limits", 2.8, "silver_account_007.json"),
    ]
    asked = siblings({"mobil": 1.0, "depos": 1.0, "limit": 1.0}, documents, GENERIC)
    assert [i for i, _ in asked] == [1, 2]
    assert siblings({"gold": 1.0, "depos": 1.0}, documents, GENERIC) == []  # the question names one


def test_the_plainer_name_wins_without_asking() -> None:
    documents = [
        (1, "Gold Account: Mobile deposit limits", 3.0, "gold_account_011.json"),
        (2, "Gold Plus Account: Mobile deposit limits", 2.9, "gold_plus_account_007.json"),
    ]
    assert siblings({"gold": 1.0, "mobil": 1.0}, documents, GENERIC) == []


def test_documents_of_one_family_or_far_apart_are_not_siblings() -> None:
    same = [
        (1, "FAQ: Green Account", 3.0, "green_account_001.json"),
        (2, "Green Account summary", 2.9, "green_account_002.json"),
    ]
    assert family("green_account_001.json") == family("green_account_002.json")
    assert siblings({"fee": 1.0}, same, GENERIC) == []
    apart = [
        (1, "Gold Account: Mobile deposit limits", 3.0, "gold_account_011.json"),
        (2, "Silver Account: Mobile deposit limits", 0.5, "silver_account_007.json"),
    ]
    assert siblings({"mobil": 1.0}, apart, GENERIC, margin=1.0) == []


def test_the_ranker_learns_to_put_the_right_candidate_first() -> None:
    rng = np.random.default_rng(1)
    groups = []
    for _ in range(30):
        rows = rng.random((6, len(FEATURES)))
        right = np.zeros(6, dtype=bool)
        right[int(np.argmax(rows[:, 2]))] = True  # the third feature tells
        groups.append((rows, right))
    weights = fit_ranker(groups)
    assert int(np.argmax(weights)) == 2
    hits = sum(bool(right[int(np.argmax(rows @ weights))]) for rows, right in groups)
    assert hits >= 27


def test_logistic_fit_separates_and_the_threshold_keeps_false_refusals_low() -> None:
    rng = np.random.default_rng(2)
    positives = rng.normal(1.0, 0.3, (40, 2))
    negatives = rng.normal(-1.0, 0.3, (20, 2))
    weights = fit_logistic(np.vstack([positives, negatives]), np.r_[np.ones(40), np.zeros(20)])
    calibration = Calibration(DEFAULT.ranker, (0.0, 0.0, 0.0, 0.0, *weights), 0.5)
    p = np.array([calibration.answerable([0, 0, 0, 0, *row]) for row in np.vstack([positives, negatives])])
    threshold = choose_threshold(p[:40], p[40:], 0.05)
    assert np.mean(p[:40] < threshold) <= 0.05
    assert np.mean(p[40:] < threshold) >= 0.9


def test_an_answer_from_the_document_quotes_the_best_sentences_and_cites_each() -> None:
    passages = [
        Passage(
            0,
            11,
            5,
            "doc.json",
            "Gold Account",
            "Fees",
            "The monthly fee is $10. It is waived above $10,000.",
        ),
        Passage(0, 12, 5, "doc.json", "Gold Account", "Limits", "The daily mobile deposit limit is $10,000."),
    ]

    def scorer(question: str, sentences: list[str] | tuple[str, ...]) -> list[float]:
        return [0.9 if "deposit" in s else 0.1 for s in sentences]

    answer = from_document("mobile deposit limit per day", passages, scorer=scorer)
    assert answer.found and "**The daily mobile deposit limit is $10,000.**" in answer.text
    assert [p.chunk_id for p in answer.citations] == [12] and answer.text.endswith("[1]")


def test_the_plainer_sibling_comes_first_when_the_question_uses_no_word_of_the_longer_name() -> None:
    from procpilot.knowledge.siblings import plainer

    documents = [
        (1, "Silver Plus Saver Account: Mobile deposit limits", 3.0, "silver_plus_saver_004.json"),
        (2, "Silver Plus Account: Mobile deposit limits", 2.7, "silver_plus_account_007.json"),
    ]
    assert plainer({"silve": 1.0, "plus": 1.0, "mobil": 1.0}, documents, GENERIC) == 2
    assert plainer({"silve": 1.0, "saver": 1.0}, documents, GENERIC) is None  # "saver" was asked for
