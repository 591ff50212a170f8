"""The read stage: the shortlist's passages scored by what reads the question with them.

Retrieval's shortlist is ordered by evidence gathered from the question and each passage
apart. With `[reader] enabled`, an English question is read with each of the `[reader]
depth` best candidates by the reader (index/models/reader.py), and `[reading]` turns its logit,
with the candidate's evidence, into the probability that the passage answers. A question
in another language is scored by `[other_languages]` (when enabled), on evidence that
crosses languages (the multilingual embedder's cosines), with thresholds calibrated for
such questions: the relevance model's word evidence is English-only, and refused them.
Either way only the scored candidates go on to be quoted, with the thresholds that go with
their scores (`Scored`). Otherwise the shortlist passes through as retrieval scored it,
with `[retrieval] abstain_below`: with both off, the answers of before the read stage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..models.language import is_english
from ..models.reader import Reader
from ..search.scoring import RelevanceModel
from ..settings import Settings
from .shortlist import Retrieved


@dataclass(frozen=True)
class Scored:
    """A question's candidates, each scored as the probability that it answers, and what that score must clear."""

    found: Retrieved
    # no quote when the best candidate is below this,
    abstain_below: float
    # and each further quote must clear this
    quote_below: float


class AnswerScoring:
    """Scores a question's shortlist with the reader (English) or across languages, in a thread of its own."""

    def __init__(self, settings: Settings):
        self._reader_settings = settings.reader
        self._relevance_threshold = settings.retrieval.abstain_below
        # (settings, model) for English and other-language questions; None: passed through
        self._english = (settings.reading, RelevanceModel(**settings.reading.weights())) if settings.reader.enabled else None
        other = settings.other_languages
        self._other = (other, RelevanceModel(**other.weights())) if other.enabled else None
        self._reader: Reader | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-reader")
        # told how many seconds each read of a shortlist took (`Engine.observe_reads`)
        self.on_read: Callable[[float], None] | None = None

    def _loaded_reader(self) -> Reader:
        if self._reader is None:
            r = self._reader_settings
            self._reader = Reader(r.model, r.sha256, max_tokens=r.max_tokens, threads=r.threads)
        return self._reader

    async def load(self) -> None:
        """Load the reader and the language identifier now, not on the first question (raises
        ReaderUnavailableError if the reader is enabled and is not the pinned one)."""
        loop = asyncio.get_running_loop()
        if self._english or self._other:
            await loop.run_in_executor(self._pool, is_english, "")
        if self._english:
            await loop.run_in_executor(self._pool, self._loaded_reader)

    @property
    def reads_language(self) -> bool:
        """Whether a question's language changes how it is scored (`Plan.english` is then told)."""
        return bool(self._english or self._other)

    async def score(self, found: Retrieved) -> Scored:
        """The shortlist scored (its plan tells the question and its language), with the thresholds that go with it."""
        plan = found.plan
        scoring = None
        if plan.english is not None:  # told only when it changes how a question is scored
            scoring = self._english if plan.english else self._other
        if scoring is None:
            return Scored(found, self._relevance_threshold, self._relevance_threshold)
        settings, model = scoring
        if not found.candidates:
            return Scored(found, settings.abstain_below, settings.quote_below)
        shortlist = sorted(found.candidates, key=lambda c: -c.score)[: self._reader_settings.depth]
        logits = [0.0] * len(shortlist)
        if scoring is self._english:
            texts = [found.rows[c.passage_id].text for c in shortlist]
            started = time.perf_counter()
            logits = await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: self._loaded_reader().logits(plan.question, texts)
            )
            if self.on_read is not None:
                self.on_read(time.perf_counter() - started)
        candidates = tuple(
            dataclasses.replace(c, score=model.probability(c.evidence, float(logit)))
            for c, logit in zip(shortlist, logits)
        )
        return Scored(dataclasses.replace(found, candidates=candidates), settings.abstain_below, settings.quote_below)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
