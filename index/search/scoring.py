"""Every piece of scoring arithmetic: pure functions on numbers, no I/O.

Retrieval gathers the evidence each candidate passage has for a question (cosines,
BM25, the share of the question's words it holds); the functions here turn it into the
one score that ranks, selects and abstains, and into the choice of the sentence to mark.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Collection, Hashable, Iterable, Mapping, Sequence

import numpy as np

from ..settings import RelevanceSettings

# RRF's constant, as in Cormack et al. (2009): it damps the weight of the very first ranks.
RRF_K = 60
# Normalised BM25 passes 1 when a passage repeats the question's words; beyond this it
# says nothing more about relevance.
KEYWORD_CAP = 1.5


@dataclass(frozen=True)
class Evidence:
    """What one passage has for one question, each on a scale that means the same in any corpus."""

    dense: float  # cosine of the passage and the question
    sentence_dense: float  # cosine of its best sentence and the question
    keyword: float  # BM25 over the BM25 of an ideal passage (see keyword.Bm25Statistics.ideal_score)
    sentence_keyword: float  # the share of the question's words, by rarity, that its best sentence holds
    passage_keyword: float  # the same share for the whole passage
    # 1 when its article's title and text hold every name the question gives (or it gives none), else 0:
    # "the prime minister of Japan" is not answered by an article that never says Japan
    article_names: float


@dataclass(frozen=True)
class RelevanceModel(RelevanceSettings):
    """A logistic model of "this passage answers the question" over `Evidence`: its weights are the
    settings' (`[relevance]`, or `[reading]` and `[other_languages]` with the reader's), one per evidence.

    Its weights are learned by `bench/train_relevance.py` from answer-annotated question
    sets; its output is a probability, so one abstention threshold holds across corpora.
    """

    # the reader's logit (`reader.Reader`), when the model is fused with it (`[reading]`); 0 in `[relevance]`
    reader: float = 0.0

    def probability(self, e: Evidence, reader_logit: float = 0.0) -> float:
        logit = (
            self.bias
            + self.reader * reader_logit
            + self.dense * e.dense
            + self.sentence_dense * e.sentence_dense
            + self.keyword * min(e.keyword, KEYWORD_CAP)
            + self.sentence_keyword * e.sentence_keyword
            + self.passage_keyword * e.passage_keyword
            + self.article_names * e.article_names
        )
        return 1.0 / (1.0 + math.exp(-logit))

    def sentence_scores(self, cosines: np.ndarray, shares: Sequence[float]) -> np.ndarray:
        """How well each sentence of a passage answers: its meaning and its words, weighed as the model weighs them."""
        return self.sentence_dense * np.asarray(cosines) + self.sentence_keyword * np.asarray(shares)


def spread(score: float, quotes_taken: int, same_article_factor: float, article_weight: float = 1.0) -> float:
    """A passage's rank once `quotes_taken` quotes of its article are chosen: lowered by a factor for each,
    so a second quote of one article yields to another article's nearly-as-good passage, not to a clearly worse one;
    times its article's weight (`recency_weights`, when the question asks for the newest reports)."""
    return score * article_weight * same_article_factor**quotes_taken


def near_tie(better: float, worse: float, tie: float) -> bool:
    """Whether two scores are within `tie` of the better one (a share of it: probabilities near 0 tie only when closer)."""
    return better - worse <= tie * better


def word_weights(question_tokens: Sequence[str], idf) -> dict[str, float]:
    """Each of the question's words with its rarity (idf): what `keyword_share` weighs, computed once a question."""
    return {token: idf(token) for token in set(question_tokens)}


def keyword_share(weights: Mapping[str, float], tokens: Collection[str]) -> float:
    """The share of the question's words, weighted by rarity, found among tokens."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(weight for token, weight in weights.items() if token in tokens) / total


def reciprocal_rank_fusion(rankings: Iterable[Sequence[Hashable]], k: int = RRF_K) -> list:
    """Items ranked by the sum of 1 / (k + rank) over the rankings that hold them, best first."""
    totals: dict = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            totals[item] = totals.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(totals, key=lambda item: -totals[item])


def recency_weights(dates: Mapping[int, str | None], half_life_days: float) -> dict[int, float]:
    """A weight per article for questions that ask for the newest reports: 1 for the newest of them,
    halving every `half_life_days` older. An undated article weighs as the oldest dated one (it
    cannot be shown to be recent); when none is dated, every weight is 1 and the order stands."""
    days = {key: _day_number(date) for key, date in dates.items()}
    known = [d for d in days.values() if d is not None]
    if not known:
        return {key: 1.0 for key in dates}
    newest, oldest = max(known), min(known)
    return {key: 0.5 ** ((newest - (oldest if d is None else d)) / half_life_days) for key, d in days.items()}


def _day_number(date: str | None) -> int | None:
    """An article's date (`YYYY-MM-DD...`) as a day count, or None when it has none that reads."""
    try:
        return dt.date.fromisoformat(date[:10]).toordinal() if date else None
    except ValueError:
        return None
