"""Query words, rank fusion, extracts and the citation check: the pure parts of knowledge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from procpilot.knowledge.answers import Passage, check_written, from_document, sentences
from procpilot.knowledge.retrieval import fuse, query_terms


def test_query_terms_drop_stop_words_punctuation_and_repeats() -> None:
    assert query_terms("What is the fee for an international wire? The WIRE fee!") == [
        "fee",
        "international",
        "wire",
    ]
    assert query_terms('"; DROP TABLE kb_chunks; --') == ["drop", "table", "kb", "chunks"]


def test_fusion_rewards_agreement_between_rankings() -> None:
    fused = [item for item, _ in fuse([[1, 2, 3], [3, 4, 1]])]
    assert fused[:2] == [1, 3]  # in both lists
    assert set(fused) == {1, 2, 3, 4}


@given(st.lists(st.integers(0, 50), unique=True, max_size=30))
def test_fusing_one_ranking_keeps_its_order(ranking: list[int]) -> None:
    assert [item for item, _ in fuse([ranking])] == ranking


def passage(text: str, n: int = 1) -> Passage:
    return Passage(n, 10, 3, "fees.md", "Fees", "Fees > Wires", text)


def test_extract_highlights_the_sentence_that_answers() -> None:
    text = (
        "Our wires are fast. Domestic wires cost $15 each. International wires cost $45 each and take "
        "two days. Cheques are free."
    )
    answer = from_document("how much is an international wire", [passage(text)])
    assert answer.found and answer.mode == "extractive"
    assert "**International wires cost $45 each and take two days.**" in answer.text
    assert answer.text.endswith("[1]")
    assert answer.highlight.startswith("International wires cost $45")


def test_extract_keeps_a_list_after_its_lead_in() -> None:
    text = "To open an account:\n1. Be verified.\n2. Be 18 or older.\n\nAccounts are free."
    answer = from_document("what do I need to open an account", [passage(text)])
    assert "1. Be verified." in answer.text and "2. Be 18 or older." in answer.text


def test_sentences_keep_list_items_whole() -> None:
    assert sentences("Intro. Next one.\n- item one. still item\n## Heading") == [
        "Intro.",
        "Next one.",
        "- item one. still item",
        "## Heading",
    ]


def test_written_answers_must_cite_passages_that_exist() -> None:
    two = [passage("a", 1), passage("b", 2)]
    assert check_written("Wires cost $45 [2].", two) is None
    assert check_written("Wires cost $45.", two) == "the answer cites no passage"
    assert check_written("Wires cost $45 [7].", two) == "the answer cites passages that were not given: [7]"
    assert check_written("NOT FOUND", two) == "the model found no answer in the passages"
    assert check_written("  ", two) == "empty answer"
