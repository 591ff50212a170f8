"""The embedded backend's search (a `search.Search`): the live indexes in this process, composed.

    scope_filters   which passages each question may see (`ScopeFilters`)
    live_vectors    the dense index in memory, kept in step, rebuilt when outgrown (`LiveVectors`)
    saved_vectors   its file in the data folder, trusted only at the store's write generation (`SavedVectors`)
    live_keyword    the keyword index, stale after a write, rebuilt waiting or in the background (`LiveKeyword`)

Loaded from the store's folder at start-up (rebuilt from stored embeddings when they
disagree with the database) and told of every passage added or removed. Searches, and
changes to an index in place, take turns in one search thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import AsyncContextManager, Callable, Iterable, Sequence, TypeVar

import numpy as np

from ..settings import VectorSettings
from ..store import Store
from ..types import IndexStats
from .keyword import KeywordScores
from .live_keyword import LiveKeyword
from .live_vectors import LiveVectors
from .saved_vectors import SavedVectors
from .scope_filters import ScopeFilters
from .vectors import prepare_search_thread

T = TypeVar("T")


class LiveIndexes:
    """The dense and keyword indexes and the passages' scopes, kept in step with the store (a `search.Search`)."""

    def __init__(self, store: Store, data_dir: Path, settings: VectorSettings, model_identity: str, read_only: bool):
        self._store = store
        # One thread searches (set up as the dense index's backend wants); index builds run in threads of their own.
        self._search_pool = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-search", initializer=prepare_search_thread)
        self._passages = ScopeFilters(settings.scope_cache_mb)
        # Beside another process that writes (read_only): indexes are built in memory, nothing is saved.
        self._saved = SavedVectors(store, data_dir, read_only)
        self._vectors = LiveVectors(
            store, self._saved, self._passages, settings, model_identity, read_only, self._in_search_thread
        )
        self._keyword = LiveKeyword(store, data_dir, self._passages, read_only, self._in_search_thread)

    async def _in_search_thread(self, fn: Callable[..., T], *args) -> T:
        """Run fn in the search thread, where searches and in-place changes to an index take turns."""
        return await asyncio.get_running_loop().run_in_executor(self._search_pool, fn, *args)

    async def load(self) -> None:
        """Read the passages' scopes, load the dense index (rebuilt if it disagrees with the database);
        the keyword index is loaded or built on first search."""
        self._passages.load(await self._store.passage_scopes())
        await self._vectors.load()
        self._keyword.reset()

    async def warm_up(self) -> None:
        """Load or build the keyword index now, not on the first question."""
        await self._keyword.index()

    async def close(self) -> None:
        """Stop a background rebuild, wait for a build already running in its thread (so nothing
        writes keyword/ after close), and stop the search thread."""
        for task in (self._keyword.rebuilding, self._vectors.rebuilding):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._keyword.close()
        self._search_pool.shutdown(wait=True)

    # --- searching ---------------------------------------------------------------

    async def has_passages(self) -> bool:
        return self._vectors.index is not None and len(self._vectors.index) > 0

    async def keyword(
        self, tokens: Sequence[str], scopes: Iterable[str] | None, k: int, only: np.ndarray | None = None
    ) -> KeywordScores:
        """BM25 scores of every passage (those outside scopes, or not among `only`, zeroed), in the search thread."""
        index = await self._keyword.index()
        _, mask = self._passages.filter(scopes, index, only)
        return await self._in_search_thread(index.scores, tokens, mask)

    async def dense(
        self, query: np.ndarray, k: int, scopes: Iterable[str] | None, only: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k passages within scopes (and among `only`) nearest the query, in the search thread."""
        vectors = self._vectors.index  # read now: a background rebuild may have swapped in a new one
        if vectors is None:
            return []
        within, _ = self._passages.filter(scopes, await self._keyword.index(), only)
        return await self._in_search_thread(vectors.search, query, k, within)

    # --- passages added and removed ----------------------------------------------

    def writing(self) -> AsyncContextManager[None]:
        """Around a write (an upload, a removal): see `LiveKeyword.writing`."""
        return self._keyword.writing()

    async def add(self, passage_ids: list[int], matrix: np.ndarray, scope: str) -> None:
        """Index passages just stored in scope, with their vectors (a row each); `save` writes the index."""
        self._passages.add(passage_ids, scope)
        self._keyword.changed()
        await self._vectors.add(passage_ids, matrix)

    async def remove(self, passage_ids: list[int]) -> None:
        """Forget passages just removed from the store; `save` writes the index."""
        self._passages.remove(passage_ids)
        self._keyword.changed()
        await self._vectors.remove(passage_ids)

    async def save(self) -> None:
        await self._vectors.save()

    async def rebuild(self) -> None:
        """Rebuild every index from the store: after a re-embed, whose vectors may differ in size."""
        await self.wait_for_rebuilds()  # a background build would swap in the old vectors
        self._saved.discard()  # rebuilt from the new vectors, which records their size
        await self.load()

    async def wait_for_rebuilds(self) -> bool:
        """Wait for a background rebuild (keyword, or an outgrown dense index) to finish.

        Returns:
            Whether one was running or has been started since the engine opened.
        """
        if self._vectors.rebuilding is not None:
            await self._vectors.rebuilding
        if self._keyword.rebuilding is not None:
            await self._keyword.rebuilding
        # one started during an upload may have finished before it did
        return bool(self._vectors.rebuilds_started) or self._keyword.rebuilding is not None

    # --- what it holds -----------------------------------------------------------

    def stats(self) -> IndexStats | None:
        """The dense index's kind, size and passage ids (None while nothing is stored)."""
        return self._vectors.stats()

    async def size(self) -> tuple[int, int]:
        """The dense index's vectors, and its file's bytes."""
        return self._vectors.size()
