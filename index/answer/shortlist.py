"""The shortlist stage: one question to its scored candidate passages: keyword and dense lists, fused, read and
scored on their evidence (hybrid retrieval).

Every score is computed by `scoring`; this module gathers what the scores are computed
from. The baselines the evaluation compares against are `Engine.rank_by_keyword` and `rank_by_meaning`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..models.encoders import Encoders
from ..search.backend import Search
from ..search.scoring import Evidence, RelevanceModel, keyword_share, reciprocal_rank_fusion, word_weights
from ..settings import RetrievalSettings
from ..store import PassageRow, SentenceVectors, Store
from ..tokenization import names_held, tokenize
from ..types import Article
from .plan import Plan


@dataclass(frozen=True)
class Candidate:
    """A passage scored for one question."""

    passage_id: int
    article_id: int
    date: str | None
    # the relevance model's probability that it answers (see scoring.RelevanceModel)
    score: float
    evidence: Evidence
    # the sentence to mark, as a span relative to the passage's text
    key_sentence: tuple[int, int]


@dataclass(frozen=True)
class Retrieved:
    """One question's scored candidates and what reading and quoting them needs (none: nothing to search,
    or nothing found)."""

    plan: Plan
    rows: dict[int, PassageRow]
    articles: dict[int, Article]
    passage_vectors: dict[int, np.ndarray]
    candidates: tuple[Candidate, ...]
    # the names the question gives (`Plan.names`) that no candidate's article holds
    unnamed: tuple[str, ...]

    @classmethod
    def nothing(cls, plan: Plan) -> Retrieved:
        return cls(plan, {}, {}, {}, (), ())


def _relative_spans(passage: PassageRow, sentences: SentenceVectors | None) -> list[tuple[int, int]]:
    """A passage's sentence spans relative to its own text (the whole passage if it has none stored)."""
    if sentences is None:
        return [(0, len(passage.text))]
    return [(s - passage.start, e - passage.start) for s, e in sentences.spans]


class Retrieval:
    """Finds and scores a question's candidate passages with the search (either backend's) and the store."""

    def __init__(
        self, settings: RetrievalSettings, relevance: RelevanceModel, store: Store, search: Search, encoders: Encoders
    ):
        self._settings = settings
        self._relevance = relevance
        self._store = store
        self._search = search
        self._encoders = encoders

    async def retrieve(
        self, plan: Plan, scopes: Iterable[str] | None, only: np.ndarray | None = None, depth: int | None = None
    ) -> Retrieved:
        """The question's candidate passages, each scored by the relevance model with its key sentence chosen.

        Two lists of candidates, by words (BM25) and by meaning (the dense index), are merged
        by reciprocal rank; the best `rerank_depth` of them are read with their sentences and
        scored on their evidence (the rest could not climb past them: measured on both eval sets,
        depth 20-40 ranks alike).

        Args:
            only: search only these passages (a date range's, new articles'), as scopes narrow it, inside
                both searches: the candidates are the best of those passages, not what is left of a shortlist.
            depth: how many merged candidates to score (default `rerank_depth`): a timeline reads more.
        """
        r = self._settings
        if not await self._search.has_passages():
            return Retrieved.nothing(plan)
        tokens, names = plan.tokens, plan.names
        # The words need no encoder: their candidates are found while it runs.
        encoding = asyncio.ensure_future(self._encoders.encode_question(plan.question))
        try:
            keyword = await self._search.keyword(tokens, scopes, r.candidates, only)
            keyword_ids = [pid for pid, _ in keyword.top(r.candidates)]
            query = await encoding
        finally:
            encoding.cancel()  # if scoring failed; a no-op once it is done
        dense_ids = [pid for pid, _ in await self._search.dense(query, r.candidates, scopes, only)]
        shortlist = reciprocal_rank_fusion([keyword_ids, dense_ids])[: depth or r.rerank_depth]
        rows, articles, passage_vectors = await self._read_candidates(shortlist)
        ids = [pid for pid in shortlist if pid in rows]  # in rows: not removed meanwhile
        if not ids:
            return Retrieved.nothing(plan)
        sentences = await self._store.sentence_vectors(ids, self._encoders.model_identity)
        held = await self._names_held(names, articles)
        unnamed = tuple(name for name in names if not any(name in h for h in held.values()))
        candidates = []
        ideal = keyword.statistics.ideal_score(tokens) or 1.0
        weights = word_weights(tokens, keyword.statistics.idf)
        for pid, keyword_score in zip(ids, keyword.of(ids, [rows[pid].text for pid in ids])):
            row = rows[pid]
            spans = _relative_spans(row, sentences.get(pid))
            dense = float(passage_vectors[pid] @ query)
            cosines = sentences[pid].vectors @ query if pid in sentences else np.array([dense])
            words = [set(tokenize(row.text[s:e])) for s, e in spans]
            shares = [keyword_share(weights, w) for w in words]
            evidence = Evidence(
                dense=dense,
                sentence_dense=float(cosines.max()),
                keyword=keyword_score / ideal,
                sentence_keyword=max(shares),
                passage_keyword=keyword_share(weights, set().union(*words)),
                article_names=float(len(held.get(row.article_id, ())) == len(names)),
            )
            key = spans[int(np.argmax(self._relevance.sentence_scores(cosines, shares)))]
            article = articles[row.article_id]
            candidates.append(
                Candidate(pid, article.id, article.date, self._relevance.probability(evidence), evidence, key)
            )
        return Retrieved(plan, rows, articles, passage_vectors, tuple(candidates), unnamed)

    async def _names_held(self, names: Sequence[str], articles: dict[int, Article]) -> dict[int, set[str]]:
        """Which of the names each article's title and text hold (none to look for: every article, holding none)."""
        if not names:
            return {aid: set() for aid in articles}
        texts = await self._store.article_texts(articles)
        return {aid: names_held(f"{articles[aid].title}\n{text}", names) for aid, text in texts.items()}

    async def _read_candidates(
        self, ids: list[int]
    ) -> tuple[dict[int, PassageRow], dict[int, Article], dict[int, np.ndarray]]:
        """The passages of ids with their articles and exact stored vectors.

        Exact vectors, because the index's scores may be approximate and keyword-only
        candidates have none. A passage removed meanwhile is simply missing.
        """
        rows = {p.id: p for p in await self._store.passages(ids)}
        articles = await self._store.articles_by_id({p.article_id for p in rows.values()})
        passage_vectors: dict[int, np.ndarray] = {}
        async for found_ids, matrix in self._store.passage_vectors(self._encoders.model_identity, list(rows)):
            passage_vectors.update(zip(found_ids.tolist(), matrix))
        return rows, articles, passage_vectors
