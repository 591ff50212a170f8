"""The keyword index's own BM25 for passages it does not hold agrees with bm25s for those it does."""

import pytest

from index.keyword import KeywordIndex
from index.tokenization import tokenize

from .helpers import BRIDGE, ORCHARD

TEXTS = [p for article in (BRIDGE, ORCHARD) for p in article["text"].split("\n\n")] + [
    "Bridge tolls rise in spring; the harbour board blames the cost of new steel cables and cables again.",
    "A short note.",
]


@pytest.mark.parametrize("question", ["harbour bridge steel cables", "cider apples fell", "bridge bridge towers green"])
def test_score_text_matches_the_index_scores(question: str):
    index = KeywordIndex.build(list(range(1, len(TEXTS) + 1)), TEXTS)
    tokens = tokenize(question)
    scores = index.scores(tokens)
    for pid, text in enumerate(TEXTS, start=1):
        assert index.score_text(tokens, text) == pytest.approx(scores.of(pid, text), rel=1e-4, abs=1e-6)
    # a passage the index never saw is scored from its words, not as zero
    unseen = "New steel cables for the harbour bridge arrive by ship."
    assert scores.of(999, unseen) == pytest.approx(index.score_text(tokens, unseen))
    assert (scores.of(999, unseen) > 0) == bool(set(tokens) & set(tokenize(unseen)))
