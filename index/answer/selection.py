"""Choosing which passages to quote: drop near-duplicates, spread the quotes over
articles, and let the newer article win a tie."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ..search.scoring import near_tie, spread
from .shortlist import Candidate


def order_by_score_then_recency(
    candidates: list[Candidate], tie: float, score: Callable[[Candidate], float] = lambda c: c.score
) -> list[Candidate]:
    """Best score first (`Candidate.score`, unless `score` says otherwise); where two are near a tie
    (`scoring.near_tie`), the newer article first.

    News goes stale: between two passages that answer about equally well, the more
    recent report is the one a reader wants first.
    """
    ordered = sorted(((score(c), c) for c in candidates), key=lambda pair: -pair[0])
    # One bubble pass per element is enough: a swap only moves a newer item up past
    # near-equals, and near-equality is local.
    for _ in range(len(ordered)):
        swapped = False
        for i in range(len(ordered) - 1):
            (a_score, a), (b_score, b) = ordered[i], ordered[i + 1]
            if near_tie(a_score, b_score, tie) and (b.date or "") > (a.date or ""):
                ordered[i], ordered[i + 1] = ordered[i + 1], ordered[i]
                swapped = True
        if not swapped:
            break
    return [c for _, c in ordered]


def select(
    candidates: list[Candidate],
    k: int,
    *,
    vector_of: Callable[[int], np.ndarray],
    duplicate_similarity: float,
    same_article_factor: float,
    recency_tie: float,
    article_weights: Mapping[int, float] | None = None,
) -> list[Candidate]:
    """Pick up to k passages to quote, in the order to show them.

    Greedy: each pick is the best remaining candidate once every candidate's score is
    lowered for the quotes already taken from its article (`scoring.spread`).

    Args:
        candidates: scored candidates.
        k: how many to return.
        vector_of: a passage's embedding, to spot near-duplicates.
        duplicate_similarity: cosine at or above which a passage repeats a chosen one.
        same_article_factor: what a score is multiplied by per quote already taken from the same article.
        recency_tie: the share of the better score within which the newer article goes first.
        article_weights: what each article's scores are multiplied by to rank them (`scoring.recency_weights`,
            for questions that ask for the newest reports); which candidates may be chosen is not changed.

    Returns:
        The chosen candidates, best first.
    """
    remaining = list(candidates)
    chosen: list[Candidate] = []
    chosen_vectors: list[np.ndarray] = []
    per_article: dict[int, int] = {}
    weights = article_weights or {}

    def rank(c: Candidate) -> float:
        return spread(c.score, per_article.get(c.article_id, 0), same_article_factor, weights.get(c.article_id, 1.0))

    while remaining and len(chosen) < k:
        pick = order_by_score_then_recency(remaining, recency_tie, rank)[0]
        remaining.remove(pick)
        vector = vector_of(pick.passage_id)
        if any(float(vector @ other) >= duplicate_similarity for other in chosen_vectors):
            continue
        chosen.append(pick)
        chosen_vectors.append(vector)
        per_article[pick.article_id] = per_article.get(pick.article_id, 0) + 1
    return chosen
