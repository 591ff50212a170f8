"""The quote stage: the scored shortlist to what is shown: the answer's quotes with their key sentence marked,
or an abstention naming the closest articles; and, for searches, articles."""

from __future__ import annotations

import time
from typing import Mapping

from ..search.scoring import recency_weights
from ..settings import RetrievalSettings
from ..types import Answer, Article, Quote
from .read import Scored
from .selection import Candidate, select
from .shortlist import Retrieved

CLOSEST_ARTICLES = 3


def answer(scored: Scored, k: int, settings: RetrievalSettings) -> Answer:
    """The answer: up to k quotes, or abstained (naming the closest articles, when there were candidates).

    This is the one place that decides to abstain: when no candidate's score clears `scored.abstain_below`.
    A question that asks for the newest reports (`Plan.recent`) ranks its quotes by score times their
    article's recency weight (`scoring.recency_weights`); which candidates may be quoted does not change.
    """
    found = scored.found
    plan = found.plan
    weights = None
    if plan.recent and found.candidates:
        dates = {article_id: article.date for article_id, article in found.articles.items()}
        weights = recency_weights(dates, settings.recency_half_life_days)
    chosen = quotes(scored, k, settings, weights)
    abstained = chosen is None
    closest = closest_articles(found) if abstained else []
    unnamed = list(found.unnamed) if abstained else []
    elapsed_ms = (time.perf_counter() - plan.started) * 1000
    return Answer(
        plan.question, abstained=abstained, elapsed_ms=elapsed_ms, answers=chosen or [], closest=closest,
        unnamed=unnamed,
    )


def quotes(
    scored: Scored, k: int, settings: RetrievalSettings, article_weights: Mapping[int, float] | None = None
) -> list[Quote] | None:
    """Up to k quotes, best first; None if no candidate clears `scored.abstain_below`.

    Each quote must clear `scored.quote_below` on its own, so an answer never trails off into
    unrelated passages. Without the reader both thresholds are `[retrieval] abstain_below` (on
    OneStopQA news that costs hit@5 0.877 -> 0.856: later hits that score below it are not shown).
    """
    found = scored.found
    if not any(c.score >= scored.abstain_below for c in found.candidates):
        return None
    relevant = [c for c in found.candidates if c.score >= min(scored.quote_below, scored.abstain_below)]
    chosen = select(
        relevant,
        k,
        vector_of=found.passage_vectors.__getitem__,
        duplicate_similarity=settings.duplicate_similarity,
        same_article_factor=settings.same_article_factor,
        recency_tie=settings.recency_tie,
        article_weights=article_weights,
    )
    return [quote_of(c, found) for c in chosen]


def best_per_article(found: Retrieved, threshold: float) -> list[Candidate]:
    """Each article's best candidate that clears the threshold, best first: one quote per article
    (a timeline, a follow's new articles)."""
    best: dict[int, Candidate] = {}
    for c in found.candidates:
        if c.score >= threshold and (c.article_id not in best or c.score > best[c.article_id].score):
            best[c.article_id] = c
    return sorted(best.values(), key=lambda c: -c.score)


def closest_articles(found: Retrieved) -> list[Article]:
    """The articles nearest the question in meaning, to suggest when nothing answers it."""
    nearest = sorted(found.candidates, key=lambda c: -c.evidence.dense)
    closest = list(dict.fromkeys(c.article_id for c in nearest))[:CLOSEST_ARTICLES]
    return [found.articles[a] for a in closest]


def articles_by_best_passage(found: Retrieved, limit: int) -> list[Article]:
    """The candidates' articles, best first, each ranked by its best-scoring passage."""
    best: dict[int, float] = {}
    for c in found.candidates:
        best[c.article_id] = max(best.get(c.article_id, 0.0), c.score)
    ranked = sorted(best, key=lambda a: -best[a])[:limit]
    return [found.articles[a] for a in ranked]


def quote_of(chosen: Candidate, found: Retrieved) -> Quote:
    """A chosen passage as a quote, its key sentence marked."""
    p = found.rows[chosen.passage_id]
    h_start, h_end = chosen.key_sentence
    return Quote(
        quote=p.text,
        highlight=p.text[h_start:h_end],
        highlight_start=h_start,
        highlight_end=h_end,
        score=chosen.score,
        start=p.start,
        end=p.end,
        article=found.articles[p.article_id],
    )
