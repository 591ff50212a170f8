"""The question path, top to bottom: plan -> shortlist -> read -> quote (or abstain).

    plan       `plan.plan` -> Plan: the question checked; the days it asks about; newest first or not; its
               words, names and language
    shortlist  `shortlist.Retrieval.retrieve(Plan)` -> Retrieved: keyword and dense search fused, each candidate
               scored on its evidence
    read       `read.AnswerScoring.score(Retrieved)` -> Scored: the shortlist scored by the reader, or across
               languages (or as it is)
    quote      `quote.answer(Scored)` -> Answer: quotes chosen and marked, or an abstention (decided there only)

A date range (`since`/`until`, or days the question names such as "today") narrows the
search itself, as a server's scope does, so the candidates are the best passages of
those days; if none of them answers a question that named the days, it is answered from any
day, saying so. Timelines, searches and a follow's new articles take the same stages, stopping
short of an answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Iterable

import numpy as np

from ..dates import DateRange, date_range
from ..settings import Settings
from ..store import Store
from ..types import Answer, Article, Quote
from .plan import Plan, check_question, plan, plan_search
from .shortlist import Retrieval
from .read import AnswerScoring
from . import quote

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
        max_chars, tell_language = self._settings.question.max_chars, self._scoring.reads_language
        planned = plan(question, since, until, self._clock(), max_chars, tell_language)
        answer = await self._answer(planned, scopes, k, await self._dated(planned.period))
        missed = answer.abstained and not planned.period_given and planned.period is not None
        if missed:  # nothing from the days the question named: the newest reports from any date, saying so
            answer = await self._answer(planned, scopes, k)
        return dataclasses.replace(answer, recent=planned.recent, period=planned.period, period_missed=missed)

    async def _answer(self, planned: Plan, scopes: Iterable[str] | None, k: int, only: np.ndarray | None = None) -> Answer:
        """shortlist -> read -> quote (or abstain)."""
        found = await self._retrieval.retrieve(planned, scopes, only)
        scored = await self._scoring.score(found)
        return quote.answer(scored, k, self._settings.retrieval)

    async def search_articles(self, query: str, scopes: Iterable[str] | None, limit: int) -> list[Article]:
        found = await self._retrieval.retrieve(plan_search(self.check(query)), scopes)
        return quote.articles_by_best_passage(found, limit)

    async def dated_quotes(
        self, topic: str, scopes: Iterable[str] | None, *, newest_first: bool, limit: int
    ) -> list[Quote]:
        """The best quote of each dated article about a topic, above the threshold, in date order
        (`/latest topic`: newest first; `/timeline`: oldest first, how the story developed).

        Twice the usual candidates are scored: a timeline wants every article that tells the story."""
        r = self._settings.retrieval
        found = await self._retrieval.retrieve(plan_search(self.check(topic)), scopes, depth=2 * r.candidates)
        dated = [c for c in quote.best_per_article(found, r.abstain_below) if c.date]
        dated.sort(key=lambda c: c.date, reverse=newest_first)  # stable: the better quote first within a day
        return [quote.quote_of(c, found) for c in dated[:limit]]

    async def quotes_in(self, topic: str, scopes: Iterable[str], article_ids: Iterable[int]) -> list[Quote]:
        """The best quote of each of those articles that answers the topic (above the threshold), best first."""
        only = await self._store.passage_ids_of(article_ids)
        if not len(only):
            return []
        found = await self._retrieval.retrieve(plan_search(topic), scopes, only)
        best = quote.best_per_article(found, self._settings.retrieval.abstain_below)
        return [quote.quote_of(c, found) for c in best]

    async def _dated(self, period: DateRange | None) -> np.ndarray | None:
        """The passages of the articles dated within period (None: no limit)."""
        return None if period is None else await self._store.passage_ids_of(None, *period.bounds())
