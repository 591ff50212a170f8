"""The keyword index's own BM25 for passages it does not hold agrees with bm25s for those it does."""

import pytest

from newsdesk.index.search.keyword import KeywordIndex
from newsdesk.index.tokenization import tokenize

from tests.support.engines import BRIDGE, ORCHARD

TEXTS = [p for article in (BRIDGE, ORCHARD) for p in article["text"].split("\n\n")] + [
    "Bridge tolls rise in spring; the harbour board blames the cost of new steel cables and cables again.",
    "A short note.",
]


@pytest.mark.parametrize("question", ["harbour bridge steel cables", "cider apples fell", "bridge bridge towers green"])
def test_score_text_matches_the_index_scores(question: str):
    index = KeywordIndex.build(list(range(1, len(TEXTS) + 1)), TEXTS)
    tokens = tokenize(question)
    scores = index.scores(tokens)
    held = scores.of(range(1, len(TEXTS) + 1), TEXTS)
    assert [index.statistics.score_text(tokens, text) for text in TEXTS] == pytest.approx(held, rel=1e-4, abs=1e-6)
    # a passage the index never saw is scored from its words, not as zero
    unseen = "New steel cables for the harbour bridge arrive by ship."
    (score,) = scores.of([999], [unseen])
    assert score == pytest.approx(index.statistics.score_text(tokens, unseen))
    assert (score > 0) == bool(set(tokens) & set(tokenize(unseen)))
