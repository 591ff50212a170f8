"""Every piece of scoring arithmetic: pure functions on numbers, no I/O.

Retrieval gathers the raw evidence for each candidate passage (cosines, BM25); the
functions here turn it into the scores that rank, select and abstain.
"""

from __future__ import annotations

from typing import Hashable, Iterable, Sequence

# RRF's constant, as in Cormack et al. (2009): it damps the weight of the very first ranks.
RRF_K = 60


def fuse(dense: float, keyword: float, dense_weight: float) -> float:
    """Convex mix of cosine similarity and normalised BM25 (capped at 1), both absolute."""
    return dense_weight * dense + (1.0 - dense_weight) * min(keyword, 1.0)


def reciprocal_rank_fusion(rankings: Iterable[Sequence[Hashable]], k: int = RRF_K) -> list:
    """Items ranked by the sum of 1 / (k + rank) over the rankings that hold them, best first."""
    totals: dict = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            totals[item] = totals.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(totals, key=lambda item: -totals[item])
