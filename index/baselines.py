"""The baselines newsdesk is measured against: BM25 alone, dense alone, the sentence nearest in meaning.

They search the same store and indexes as `retrieval`, without its fusion and relevance
model, so the evaluation and the benchmarks compare like with like.
"""

from __future__ import annotations

import numpy as np

from .models.encoders import Encoders
from .search.backend import Search
from .store import Store
from .tokenization import tokenize


class Baselines:
    """Plain rankings of the stored passages, for `evaluation` and `bench/`."""

    def __init__(self, store: Store, search: Search, encoders: Encoders):
        self._store = store
        self._search = search
        self._encoders = encoders

    async def rank_dense(self, question: str, k: int) -> list[int]:
        """Passage ids by cosine similarity alone (the dense search: exact while an in-process index is flat), best first."""
        if not await self._search.has_passages():
            return []
        query = await self._encoders.encode_question(question)
        return [pid for pid, _ in await self._search.dense(query, k, None)]

    async def rank_keyword(self, question: str, k: int) -> list[int]:
        """Passage ids by BM25 alone, best first."""
        return [pid for pid, _ in (await self._search.keyword(tokenize(question), None, k)).top(k)]

    async def nearest_sentence(self, question: str, passage_id: int) -> tuple[int, int]:
        """The span (in article offsets) of a passage's sentence nearest the question in meaning alone."""
        query = await self._encoders.encode_question(question)
        sentences = (await self._store.sentence_vectors([passage_id], self._encoders.model_identity)).get(passage_id)
        if sentences is None:
            row = (await self._store.passages([passage_id]))[0]
            return row.start, row.end
        return sentences.spans[int(np.argmax(sentences.vectors @ query))]
