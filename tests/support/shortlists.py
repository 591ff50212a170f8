"""A question's shortlist, every candidate with its evidence and score, for what inspects or learns from it.

The engine answers; it does not hand out its shortlists. The tests that check a candidate's evidence and the
bench scripts that train and calibrate on it (bench/train_relevance.py, bench/calibrate_reader.py) open the
store, the search and the encoders themselves, read-only (beside an engine that writes, or after it), and take
the shortlist stage as the engine's searches take it: `Retrieval.retrieve(plan_search(question))`.

    async with open_shortlists(settings) as shortlists:
        best_first = await shortlists.candidates("why does Russia oppose the missile shield?")
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from typing import AsyncIterator, Iterable

from newsdesk.index.answer.plan import check_question, plan_search
from newsdesk.index.answer.shortlist import Candidate, Retrieval
from newsdesk.index.models.encoders import Encoders
from newsdesk.index.search.backend import open_search
from newsdesk.index.search.scoring import RelevanceModel
from newsdesk.index.settings import Settings
from newsdesk.index.store import PassageRow, Store, open_store


class Shortlists:
    """Shortlists from a store as the engine with these settings would take them (never abstains)."""

    def __init__(self, settings: Settings, store: Store, retrieval: Retrieval):
        self._settings = settings
        self._store = store
        self._retrieval = retrieval

    async def candidates(self, question: str, scopes: Iterable[str] | None = None) -> list[Candidate]:
        """The scored candidates, best first, with their evidence."""
        checked = check_question(question, self._settings.question.max_chars)
        found = await self._retrieval.retrieve(plan_search(checked), scopes)
        return sorted(found.candidates, key=lambda c: -c.score)

    async def passages(self, passage_ids: Iterable[int]) -> list[PassageRow]:
        """Passages by id, with their text and article id."""
        return await self._store.passages(passage_ids)


@contextlib.asynccontextmanager
async def open_shortlists(settings: Settings) -> AsyncIterator[Shortlists]:
    """The store in settings' data dir, opened read-only with its search and encoders (closed on leaving)."""
    store = await open_store(settings.storage)
    encoders = Encoders.from_settings(settings.model)
    search = open_search(settings, store, encoders.model_identity, read_only=True)
    try:
        await search.load()
        relevance = RelevanceModel(**asdict(settings.relevance))
        yield Shortlists(settings, store, Retrieval(settings.retrieval, relevance, store, search, encoders))
    finally:
        await search.close()
        await store.close()
        encoders.close()
