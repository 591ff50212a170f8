"""Questions that know the time: answers limited to days, newest reports first, quotes in date order.

A date range (`since`/`until`, or days the question names such as "today") narrows the
search itself, as a server's scope does, so the candidates are the best passages of
those days. A question that asks for the newest reports ranks newer articles higher
(`scoring.recency_weights`), while every quote must still clear the abstention threshold
on its own relevance. A question without time words is answered exactly as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Callable, Iterable

import numpy as np

from . import quote as quoting
from .read import AnswerScoring
from ..dates import DateRange, date_range
from .shortlist import Retrieval, Retrieved, check_question
from ..search.scoring import recency_weights
from ..settings import Settings
from ..store import Store
from .time_words import time_intent
from .selection import Candidate
from ..types import Answer, Article, Quote

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Questions:
    """Answers, timelines and new articles' quotes, on the clock the engine keeps (tests set their own)."""

    def __init__(self, settings: Settings, store: Store, retrieval: Retrieval, scoring: AnswerScoring, clock: Clock):
        self._settings = settings
        self._store = store
        self._retrieval = retrieval
        self._scoring = scoring
        self._clock = clock

    def check(self, question: str) -> str:
        return check_question(question, self._settings.question.max_chars)

    def date_range(self, since: str | None, until: str | None) -> DateRange | None:
        """The days `since`/`until` (dates, or ages like "7d") describe; raises QuestionError if they cannot be read."""
        return date_range(since, until, self._clock())

    async def ask(
        self, question: str, scopes: Iterable[str] | None, k: int, since: str | None = None, until: str | None = None
    ) -> Answer:
        started = time.perf_counter()
        question = self.check(question)
        given = self.date_range(since, until)
        intent = time_intent(question, self._clock().date())
        period = given or (intent.period if intent else None)
        recent = intent is not None and intent.prefer_recent
        answer = await self._answer(question, scopes, k, started, recent, await self._dated(period))
        missed = answer.abstained and given is None and period is not None
        if missed:  # nothing from the days the question named: the newest reports from any date, saying so
            answer = await self._answer(question, scopes, k, started, recent)
        return dataclasses.replace(answer, recent=recent, period=period, period_missed=missed)

    async def _answer(
        self, question: str, scopes: Iterable[str] | None, k: int, started: float, recent: bool,
        only: np.ndarray | None = None,
    ) -> Answer:
        """shortlist -> read -> quote (or abstain)."""
        found = await self._retrieval.retrieve(question, scopes, only)
        scored = await self._scoring.score(question, found)
        weights = self._weights(scored.found, recent)
        return quoting.answer(question, scored, k, self._settings.retrieval, started, weights)

    async def candidates(self, question: str, scopes: Iterable[str] | None) -> list[Candidate]:
        found = await self._retrieval.retrieve(self.check(question), scopes)
        return [] if found is None else sorted(found.candidates, key=lambda c: -c.score)

    async def search_articles(self, query: str, scopes: Iterable[str] | None, limit: int) -> list[Article]:
        found = await self._retrieval.retrieve(self.check(query), scopes)
        return [] if found is None else quoting.articles_by_best_passage(found, limit)

    async def dated_quotes(
        self, topic: str, scopes: Iterable[str] | None, *, newest_first: bool, limit: int
    ) -> list[Quote]:
        """The best quote of each dated article about a topic, above the threshold, in date order
        (`/latest topic`: newest first; `/timeline`: oldest first, how the story developed).

        Twice the usual candidates are scored: a timeline wants every article that tells the story."""
        r = self._settings.retrieval
        found = await self._retrieval.retrieve(self.check(topic), scopes, depth=2 * r.candidates)
        if found is None:
            return []
        dated = [c for c in quoting.best_per_article(found, r.abstain_below) if c.date]
        dated.sort(key=lambda c: c.date, reverse=newest_first)  # stable: the better quote first within a day
        return [quoting.quote_of(c, found) for c in dated[:limit]]

    async def quotes_in(self, topic: str, scopes: Iterable[str], article_ids: Iterable[int]) -> list[Quote]:
        """The best quote of each of those articles that answers the topic (above the threshold), best first."""
        only = await self._store.passage_ids_of(article_ids)
        found = await self._retrieval.retrieve(topic, scopes, only) if len(only) else None
        if found is None:
            return []
        best = quoting.best_per_article(found, self._settings.retrieval.abstain_below)
        return [quoting.quote_of(c, found) for c in best]

    async def _dated(self, period: DateRange | None) -> np.ndarray | None:
        """The passages of the articles dated within period (None: no limit)."""
        return None if period is None else await self._store.passage_ids_of(None, *period.bounds())

    def _weights(self, found: Retrieved | None, recent: bool) -> dict[int, float] | None:
        if not recent or found is None:
            return None
        dates = {article_id: article.date for article_id, article in found.articles.items()}
        return recency_weights(dates, self._settings.retrieval.recency_half_life_days)
