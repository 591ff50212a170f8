"""What retrieval and ingest ask of the searchable indexes, whichever storage backend holds them.

The embedded backend searches in this process (`indexes.LiveIndexes`: FAISS vectors, a
bm25s keyword index, scope filters), kept in step with the store by ingest. PostgreSQL
searches inside the database (`postgres_search.DatabaseSearch`: pgvector HNSW and a
BM25 over a GIN-indexed tsvector), which is in step by itself. Either answers the same
two questions, so fusion, scoring, abstention and quoting are one code for both.
"""

from __future__ import annotations

from typing import AsyncContextManager, Iterable, Protocol, Sequence

import numpy as np

from .keyword import Bm25Statistics
from ..settings import Settings
from ..store import Store
from ..types import IndexStats


class KeywordHits(Protocol):
    """One question's BM25 result: its best passages, any passage's score, and the statistics scored with."""

    statistics: Bm25Statistics

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k best (passage id, score) pairs with a positive score, best first."""

    def of(self, passage_ids: Sequence[int], texts: Sequence[str]) -> list[float]:
        """The scores of passages (with their texts, for one the index has not seen yet)."""


class Search(Protocol):
    """The dense and keyword searches over the stored passages, filtered by scope (None: every scope)."""

    async def load(self) -> None:
        """Get ready to search what the store holds (repairing what disagrees with it)."""

    async def warm_up(self) -> None:
        """Do now what the first question would otherwise wait for."""

    async def close(self) -> None: ...

    async def has_passages(self) -> bool: ...

    async def keyword(
        self, tokens: Sequence[str], scopes: Iterable[str] | None, k: int, only: np.ndarray | None = None
    ) -> KeywordHits:
        """BM25 for the tokens; `top` holds at least the best k within scopes and among `only` (passage ids; None: any)."""

    async def dense(
        self, query: np.ndarray, k: int, scopes: Iterable[str] | None, only: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k passages within scopes and among `only` nearest the query (inner product), best first."""

    def writing(self) -> AsyncContextManager[None]:
        """Around a write (an upload, a removal): what the search does while one is under way."""

    async def add(self, passage_ids: list[int], matrix: np.ndarray, scope: str) -> None:
        """Passages just stored in scope, with their vectors (a row each)."""

    async def remove(self, passage_ids: list[int]) -> None:
        """Passages just removed from the store."""

    async def save(self) -> None:
        """Once per write: persist what the adds and removes changed."""

    async def rebuild(self) -> None:
        """After a re-embed: search the new vectors, whose size may differ."""

    async def wait_for_rebuilds(self) -> bool:
        """Wait for a background rebuild; whether one has been started since opening."""

    def stats(self) -> IndexStats | None:
        """The in-process dense index's kind, size and ids (None: nothing stored, or searched in the database)."""

    async def size(self) -> tuple[int, int]:
        """The vectors searched, and the bytes their index takes."""


def open_search(settings: Settings, store: Store, model_identity: str, read_only: bool) -> Search:
    """The search that goes with the storage backend (`[storage] backend`)."""
    if settings.storage.backend == "postgres":
        from .postgres_search import DatabaseSearch

        return DatabaseSearch(store, settings.vectors)
    from .indexes import LiveIndexes

    return LiveIndexes(store, settings.storage.data_dir, settings.vectors, model_identity, read_only)
