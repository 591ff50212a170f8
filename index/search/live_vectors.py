"""The dense index in memory, kept in step with the store: told of every passage added or removed, and
rebuilt when it disagrees with the database or has outgrown its kind (an outgrown one in the background,
while the old one goes on answering)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import numpy as np

from ..settings import VectorSettings
from ..store import Store
from ..types import IndexStats
from .saved_vectors import SavedVectors
from .scope_filters import ScopeFilters
from .vectors import VectorIndex, factory as vector_factory

log = logging.getLogger(__name__)

class LiveVectors:
    """The dense index (`index`; None while nothing is stored), its saves and its rebuilds."""

    def __init__(
        self,
        store: Store,
        saved: SavedVectors,
        passages: ScopeFilters,
        settings: VectorSettings,
        model_identity: str,
        read_only: bool,
        in_search_thread: Callable[..., Awaitable[Any]],
    ):
        self._store = store
        self._saved = saved
        self._passages = passages  # the indexed passages' ids
        self._settings = settings
        self._model_identity = model_identity
        self._read_only = read_only
        self._in_search_thread = in_search_thread
        self.index: VectorIndex | None = None
        # Passages added or removed since the index was last saved.
        self._unsaved = False
        # An outgrown index is rebuilt in the background (k-means takes minutes at a million
        # passages); passages added or removed meanwhile are replayed on the new one before it swaps in.
        self.rebuilding: asyncio.Task | None = None
        self.rebuilds_started = 0
        self._replay: list[tuple[str, list[int], np.ndarray | None]] = []

    async def load(self) -> None:
        """Load the saved index; rebuild it from stored embeddings if it disagrees with the database.

        It also gets rebuilt when the configured kind (or, for ivf, the number of lists
        the store's size calls for) has changed.
        """
        vectors = await self._saved.load(self._settings)
        in_step = vectors is not None and np.array_equal(np.sort(vectors.ids()), self._passages.ids)
        if not in_step and (len(self._passages) or vectors is not None):
            log.warning("vector index out of step with the database; rebuilding it from stored embeddings")
        if not in_step or self._outgrown(vectors):
            vectors = await self._rebuild()
        self.index = vectors

    async def add(self, passage_ids: list[int], matrix: np.ndarray) -> None:
        """Index passages just stored, with their vectors (a row each); `save` writes the index."""
        if self.index is None:
            self.index = await self._rebuild()
            return
        await self._in_search_thread(self.index.add, passage_ids, matrix)
        self._unsaved = True
        if self.rebuilding is not None:
            self._replay.append(("add", passage_ids, matrix))
        elif self._outgrown(self.index):
            self.rebuilding = asyncio.create_task(self._rebuild_in_background())
            self.rebuilds_started += 1

    async def remove(self, passage_ids: list[int]) -> None:
        """Forget passages just removed from the store; `save` writes the index."""
        if self.index is not None:
            await self._in_search_thread(self.index.remove, passage_ids)
            self._unsaved = True
            if self.rebuilding is not None:
                self._replay.append(("remove", passage_ids, None))

    async def save(self) -> None:
        """Write the index if passages were added or removed since it was last written.

        Once per write, not per chunk of an upload: at a million passages the file takes
        seconds to write. A crash before it leaves the saved index behind the store, which
        the write generation tells on the next open (the index is then rebuilt)."""
        if self._unsaved and self.index is not None:
            self._unsaved = False
            await self._saved.save(self.index)

    def size(self) -> tuple[int, int]:
        """The index's vectors, and its file's bytes."""
        return len(self.index) if self.index else 0, self._saved.size()

    def stats(self) -> IndexStats | None:
        """The index's kind, size and passage ids (None while nothing is stored)."""
        if self.index is None:
            return None
        return IndexStats(self.index.kind, self.index.dim, self.index.lists, self.index.ids())

    def _outgrown(self, vectors: VectorIndex | None) -> bool:
        return vectors is not None and vector_factory.outgrown(vectors, self._settings, len(self._passages))

    async def _rebuild_in_background(self) -> None:
        """Build the wanted kind of index while the old one answers, replay the changes made
        meanwhile, and swap it in; a failure is reported, and the old index goes on serving."""
        try:
            index = await self._build()
            while self._replay:  # writers go on while it replays, so take one change at a time
                change, passage_ids, matrix = self._replay.pop(0)
                if change == "add":  # unless the build already read them from the store
                    keep = ~np.isin(passage_ids, index.ids())
                    await asyncio.to_thread(index.add, np.asarray(passage_ids)[keep], matrix[keep])
                else:
                    await asyncio.to_thread(index.remove, passage_ids)
            self.index = index  # no await since the last replayed change: nothing is missed
            await self._saved.save(index)
        except Exception as error:
            log.error("dense index rebuild failed (%r); the old index goes on serving", error)
        finally:
            self.rebuilding = None
            self._replay.clear()

    async def _rebuild(self) -> VectorIndex | None:
        """A new index of the wanted kind over every stored passage vector, saved."""
        index = await self._build()
        if index is None:
            if not self._read_only:
                self._saved.discard()
        else:
            await self._saved.save(index)
        return index

    async def _build(self) -> VectorIndex | None:
        """A new index of the wanted kind over every stored passage vector (None: no passages).

        Built in a thread of its own and streamed from the database, so questions keep
        being answered from the old index meanwhile and memory stays near the index's size.
        """
        n = len(self._passages)
        if not n:
            return None
        model = self._model_identity
        index: VectorIndex | None = None
        async for ids, matrix in self._store.passage_vectors(model):
            if index is None:
                index = vector_factory.create(matrix.shape[1], self._settings, n)
                new_dim = await self._store.get_meta("embedding_dim") != str(matrix.shape[1])  # new, or re-embedded
                if new_dim and not self._read_only:
                    await self._store.set_meta("embedding_dim", str(matrix.shape[1]))
                if index.training_size:
                    sample_ids = np.random.default_rng(0).choice(self._passages.ids, min(n, index.training_size), replace=False)
                    sample = [m async for _, m in self._store.passage_vectors(model, sample_ids)]
                    await asyncio.to_thread(index.train, np.concatenate(sample))
            await asyncio.to_thread(index.add, ids, matrix)
        return index
