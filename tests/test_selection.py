"""Choosing quotes: spread over articles when close, near-duplicates dropped, newer first on ties."""

import numpy as np

from index.highlight import best_sentence_coverage
from index.selection import Candidate, select
from index.tokenization import question_tokens, tokenize


def pick(candidates, vectors=None, k=3, penalty=0.05, tie=0.02):
    vectors = vectors or {c.passage_id: np.eye(8)[c.passage_id] for c in candidates}
    chosen = select(
        candidates, k, vector_of=vectors.__getitem__, duplicate_similarity=0.95,
        same_article_penalty=penalty, recency_tie=tie,
    )
    return [c.passage_id for c in chosen]


def cand(pid, article, fused, date="2024-01-01"):
    return Candidate(pid, article, date, dense=fused, keyword=fused, fused=fused)


def test_a_close_passage_from_another_article_comes_before_a_second_from_the_first():
    assert pick([cand(1, 10, 0.90), cand(2, 10, 0.85), cand(3, 20, 0.83)]) == [1, 3, 2]


def test_a_clearly_better_second_passage_of_one_article_keeps_its_place():
    assert pick([cand(1, 10, 0.90), cand(2, 10, 0.85), cand(3, 20, 0.60)]) == [1, 2, 3]


def test_near_duplicate_passages_are_collapsed():
    same = np.eye(8)[1]
    vectors = {1: same, 2: same, 3: np.eye(8)[3]}
    assert pick([cand(1, 10, 0.9), cand(2, 20, 0.88), cand(3, 30, 0.5)], vectors) == [1, 3]


def test_the_newer_article_wins_a_near_tie_but_not_a_clear_gap():
    old, new = cand(1, 10, 0.80, "2019-05-01"), cand(2, 20, 0.79, "2024-05-01")
    assert pick([old, new], k=2) == [2, 1]
    old, new = cand(1, 10, 0.80, "2019-05-01"), cand(2, 20, 0.70, "2024-05-01")
    assert pick([old, new], k=2) == [1, 2]


def test_question_words_are_not_keywords():
    assert question_tokens("When and where did the bridge open?") == tokenize("the bridge open")


def test_sentence_coverage_rewards_the_question_words_in_one_sentence():
    text = "The bridge opened in May. The mayor cut the ribbon."
    spans = [(0, 25), (26, len(text))]
    assert best_sentence_coverage({"bridg": 1.0, "open": 1.0}, text, spans) == 1.0
    assert best_sentence_coverage({"bridg": 1.0, "mayor": 1.0}, text, spans) == 0.5
    assert best_sentence_coverage({"bridg": 1.0, "mayor": 3.0}, text, spans) == 0.75  # the rarer word counts more
