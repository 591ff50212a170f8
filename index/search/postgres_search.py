"""PostgreSQL's search: the dense and keyword searches run inside the database (a `search.Search`).

Nothing is kept in this process: the database is the index, so what any process stores or
removes is searched as soon as it commits, and there is nothing to load, save or rebuild.

- Dense: pgvector's HNSW index over each passage's vector (inner product: the vectors are
  normalised), walked with iterative scan in strict order, so a scope filter that drops
  many of the nearest passages still yields k of them. Retrieval then re-scores the
  candidates with their exact stored vectors, as with the embedded backend.
- Keyword: Lucene's BM25, exactly as bm25s computes it for the embedded backend, over the
  same tokens: the GIN index on the passages' tsvector finds those holding a question word,
  a word's count is its positions, and the store keeps document frequencies and totals in
  the same transaction as the passages. Not `ts_rank`: its scores are not BM25, and the
  relevance model weighs BM25 over an ideal passage's BM25, which needs the idf.

Every query takes the scopes as a parameter, NULL for every scope, and likewise the passages
it is limited to (`only`: a date range's, new articles').
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Iterable, Sequence

import numpy as np

from .keyword import B, K1, Bm25Statistics
from ..settings import VectorSettings
from ..types import IndexStats
from ..store.postgres import PostgresStore, lexeme_literal

_BM25_STATISTICS = (
    "SELECT (SELECT value::BIGINT FROM meta WHERE key = 'keyword_passages'), "
    "(SELECT value::BIGINT FROM meta WHERE key = 'keyword_tokens'), "
    # each word beside its count: both lists in the words' order (each subquery may read the rows in its own)
    "(SELECT array_agg(term ORDER BY term) FROM keyword_terms WHERE term = ANY($1::TEXT[])), "
    "(SELECT array_agg(passages ORDER BY term) FROM keyword_terms WHERE term = ANY($1::TEXT[]))"
)
# $2, $3: the question's tokens (repeats count, as in bm25s) and their idf; $4, $5, $6: k1, b and
# the average passage length; $7: the tokens as a tsquery, which the GIN index answers.
_BM25_TOP = (
    "SELECT p.id, SUM(q.idf * cardinality(t.positions) / (cardinality(t.positions) "
    "+ $4::FLOAT8 * (1 - $5::FLOAT8 + $5::FLOAT8 * p.length / $6::FLOAT8))) AS score "
    "FROM passages p, unnest(p.terms) AS t, unnest($2::TEXT[], $3::FLOAT8[]) AS q (term, idf) "
    "WHERE p.terms @@ $7::TSQUERY AND q.term = t.lexeme AND ($1::TEXT[] IS NULL OR p.scope = ANY($1::TEXT[])) "
    "AND ($9::BIGINT[] IS NULL OR p.id = ANY($9::BIGINT[])) "
    "GROUP BY p.id ORDER BY score DESC, p.id LIMIT $8"
)
_NEAREST = (
    "SELECT id, -(embedding <#> $2) FROM passages WHERE ($1::TEXT[] IS NULL OR scope = ANY($1::TEXT[])) "
    "AND ($4::BIGINT[] IS NULL OR id = ANY($4::BIGINT[])) "
    "AND embedding IS NOT NULL ORDER BY embedding <#> $2 LIMIT $3"
)


def _ids(only: np.ndarray | None) -> list[int] | None:
    return None if only is None else [int(i) for i in only]


class DatabaseKeywordHits:
    """One question's BM25 result from the database (a `search.KeywordHits`)."""

    def __init__(self, hits: list[tuple[int, float]], statistics: Bm25Statistics, tokens: Sequence[str]):
        self._hits = hits
        self._tokens = tokens
        self.statistics = statistics

    def top(self, k: int) -> list[tuple[int, float]]:
        return self._hits[:k]

    def of(self, passage_ids: Sequence[int], texts: Sequence[str]) -> list[float]:
        """Scores from the texts with the database's current statistics: the same BM25 its search computed."""
        return [self.statistics.score_text(self._tokens, text) for text in texts]


class DatabaseSearch:
    """Searches a `PostgresStore` inside the database."""

    def __init__(self, store: PostgresStore, settings: VectorSettings):
        self._store = store
        self._pool = store.pool
        self._settings = settings

    async def load(self) -> None:
        """Nothing to load: the indexes live in the database."""

    async def warm_up(self) -> None:
        """Nothing to warm: the indexes live in the database."""

    async def close(self) -> None:
        """Nothing to stop: the store closes the pool."""

    async def has_passages(self) -> bool:
        return await self._pool.fetchval("SELECT EXISTS (SELECT 1 FROM passages)")

    async def keyword(
        self, tokens: Sequence[str], scopes: Iterable[str] | None, k: int, only: np.ndarray | None = None
    ) -> DatabaseKeywordHits:
        tokens = list(tokens)
        scopes = None if scopes is None else list(scopes)
        async with self._pool.acquire() as db:
            passages, total_tokens, words, counts = await db.fetchrow(_BM25_STATISTICS, tokens)
            doc_freq = dict(zip(words or [], counts or []))
            statistics = Bm25Statistics(passages, doc_freq, total_tokens / passages if passages else 1.0)
            if not tokens or not passages:
                return DatabaseKeywordHits([], statistics, tokens)
            query = " | ".join(lexeme_literal(t) for t in set(tokens))
            idf = [statistics.idf(t) for t in tokens]
            rows = await db.fetch(_BM25_TOP, scopes, tokens, idf, K1, B, statistics.average_length, query, k, _ids(only))
        return DatabaseKeywordHits([(r[0], r[1]) for r in rows], statistics, tokens)

    async def dense(
        self, query: np.ndarray, k: int, scopes: Iterable[str] | None, only: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        scopes = None if scopes is None else list(scopes)
        async with self._pool.acquire() as db, db.transaction():
            # set_config(..., true) lasts as long as the transaction (so it also works behind PgBouncer)
            await db.execute(
                "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'strict_order', true)",
                str(max(self._settings.ef_search, k)),
            )
            rows = await db.fetch(_NEAREST, scopes, np.asarray(query, dtype=np.float32), k, _ids(only))
        return [(r[0], r[1]) for r in rows]

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Questions never wait on a write: the database indexes each row as it commits."""
        yield

    async def add(self, passage_ids: list[int], matrix: np.ndarray, scope: str) -> None:
        """Stored passages are searched as soon as they commit."""

    async def remove(self, passage_ids: list[int]) -> None:
        """Removed passages left the indexes with their rows."""

    async def save(self) -> None:
        """Nothing to save: the database persisted the rows."""

    async def rebuild(self) -> None:
        """After a re-embed the passages carry the new vectors (`PostgresStore.drop_embeddings_except`): record their size."""
        dim = await self._pool.fetchval("SELECT vector_dims(embedding) FROM passages WHERE embedding IS NOT NULL LIMIT 1")
        if dim is not None:
            await self._store.set_meta("embedding_dim", str(dim))

    async def wait_for_rebuilds(self) -> bool:
        return False

    def stats(self) -> IndexStats | None:
        return None

    async def size(self) -> tuple[int, int]:
        """The passages with a vector, and the HNSW index's bytes."""
        row = await self._pool.fetchrow(
            "SELECT COUNT(embedding), COALESCE(pg_relation_size(to_regclass('passages_embedding')), 0) FROM passages"
        )
        return row[0], row[1]
