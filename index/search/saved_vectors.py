"""The dense index's file in the data folder, and the store's write generation it was saved at.

An index is trusted at start-up only if the generation beside it is the store's (see
`Store.write_generation`); any other (a crash between a commit and the save, say) and it is rebuilt.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..settings import VectorSettings
from ..store import Store
from .vectors import VectorIndex, factory as vector_factory

INDEX_NAME = "vectors.faiss"
# Beside the index file: the store's write generation it was saved at (see `Store.write_generation`).
GENERATION_NAME = INDEX_NAME + ".generation"


class SavedVectors:
    """Loads and saves the dense index (nothing is saved beside another process that writes: read_only)."""

    def __init__(self, store: Store, data_dir: Path, read_only: bool):
        self._store = store
        self._data_dir = data_dir
        self._read_only = read_only

    @property
    def path(self) -> Path:
        return self._data_dir / INDEX_NAME

    async def load(self, settings: VectorSettings) -> VectorIndex | None:
        """The saved index, if there is one of the store's write generation (None: there is none to trust)."""
        dim_text = await self._store.get_meta("embedding_dim")
        if dim_text and self.path.exists() and self._saved_generation() == await self._store.write_generation():
            return await asyncio.to_thread(vector_factory.load, self.path, int(dim_text), settings)
        return None

    async def save(self, vectors: VectorIndex) -> None:
        """Write the index file, then the write generation it holds (a crash between the two
        leaves them disagreeing, so the index is rebuilt, never trusted).

        Written in a thread of its own: searches only read the index, so they go on meanwhile
        (a million passages take seconds to write); writers hold the write lock."""
        if self._read_only:
            return
        generation = await self._store.write_generation()
        await asyncio.to_thread(vectors.save, self.path)
        (self._data_dir / GENERATION_NAME).write_text(str(generation))

    def discard(self) -> None:
        """Delete the saved index (its file, if any)."""
        if self.path.exists():
            self.path.unlink()

    def size(self) -> int:
        """The file's bytes (0: none saved)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def _saved_generation(self) -> int | None:
        try:
            return int((self._data_dir / GENERATION_NAME).read_text())
        except (OSError, ValueError):
            return None
