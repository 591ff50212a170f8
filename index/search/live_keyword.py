"""The keyword index in memory, kept in step with the store: stale once passages are added or removed,
and rebuilt: a small one by the writer when its write is done (or before the next question), a large
one in the background while questions go on being answered from the old one. While a write is under
way, no question waits for a rebuild."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from ..store import PassageRow, Store
from ..worker import background_executor
from .keyword import KeywordIndex
from .scope_filters import ScopeFilters

log = logging.getLogger(__name__)

KEYWORD_DIR = "keyword"
# Up to this many passages the keyword index rebuilds in about a second (measured:
# ~12 s per 100k), so a question waits for it rather than miss the newest passages.
KEYWORD_REBUILD_WAITS_UP_TO = 20_000
# A failed background rebuild (a full disk, say) is tried again after this long.
KEYWORD_RETRY_SECONDS = 30.0


class LiveKeyword:
    """The keyword index (loaded or built on first use), its staleness, its rebuilds and its saves."""

    def __init__(
        self, store: Store, data_dir: Path, passages: ScopeFilters, read_only: bool, in_search_thread: Callable[..., Awaitable[Any]]
    ):
        self._store = store
        self._folder = data_dir / KEYWORD_DIR
        self._passages = passages  # the indexed passages' ids
        self._read_only = read_only
        self._in_search_thread = in_search_thread
        self._index: KeywordIndex | None = None
        # Passages added or removed since opening, and how many of those the index has seen:
        # it is stale until a build that started after the last change succeeds.
        self._changes = 0
        self._seen_changes = 0
        # Writes under way (`writing`): meanwhile questions use the index they find.
        self._writers = 0
        # A large index is rebuilt in the background, in a thread that close() waits for.
        self.rebuilding: asyncio.Task | None = None
        self._build_pool = background_executor("newsdesk-keyword-build")

    def reset(self) -> None:
        """Forget the index in memory: it is loaded or built again on first use."""
        self._index = None

    def changed(self) -> None:
        """Passages were just added or removed."""
        self._changes += 1

    async def index(self) -> KeywordIndex:
        """The index: in memory, else the saved one if it covers every passage, else built and saved.

        When passages were added or removed since it was built, a small index is rebuilt
        before answering; a large one (seconds to minutes) keeps answering while a new
        one is built in the background, so no question waits. While a write is under way,
        questions answer from the index as it is, and the writer rebuilds it when done
        (`writing`). Passages added meanwhile are found by meaning, and scored by their
        words with the old index's statistics (`KeywordScores.of`).
        """
        if self._index is None:
            await self._refresh()
        elif self._stale and not self._writers:  # during a write, the writer rebuilds it when done
            if len(self._passages) <= KEYWORD_REBUILD_WAITS_UP_TO:
                await self._refresh()
            elif self.rebuilding is None or self.rebuilding.done():
                self.rebuilding = asyncio.create_task(self._rebuild_in_background())
        return self._index

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Around a write (an upload, a removal): questions meanwhile use the index as it is; when
        the last write is done, a small stale one is rebuilt before it returns (in a thread of its
        own: questions go on with the old one), so the next question needs none."""
        self._writers += 1
        try:
            yield
            small = len(self._passages) <= KEYWORD_REBUILD_WAITS_UP_TO
            if self._writers == 1 and self._index is not None and self._stale and small:
                try:
                    await self._refresh(in_own_thread=True)
                except Exception as error:  # the write is committed all the same; the next question tries again
                    log.error("keyword index rebuild failed (%r); the next question tries again", error)
        finally:
            self._writers -= 1

    async def close(self) -> None:
        """Wait for a build already running in its thread (so nothing writes keyword/ after close)."""
        await asyncio.to_thread(self._build_pool.shutdown, wait=True)

    @property
    def _stale(self) -> bool:
        return self._seen_changes != self._changes

    async def _refresh(self, in_own_thread: bool = False) -> None:
        changes = self._changes  # a change during the build leaves it stale
        self._index = await self._load_or_build(in_own_thread)
        self._seen_changes = changes

    async def _rebuild_in_background(self) -> None:
        """Rebuild until the index is current: passages may change again while it builds, and a
        failed build is reported and tried again (questions go on with the old index meanwhile)."""
        while self._stale:
            try:
                await self._refresh(in_own_thread=True)
            except Exception as error:
                log.error("keyword index rebuild failed (%r); trying again in %s s", error, KEYWORD_RETRY_SECONDS)
                await asyncio.sleep(KEYWORD_RETRY_SECONDS)

    async def _load_or_build(self, in_own_thread: bool = False) -> KeywordIndex:
        ids = self._passages.ids
        # read before the passages: a write in between makes the saved index look older than it is, never newer
        generation = await self._store.write_generation()
        loaded = await self._in_search_thread(KeywordIndex.load, self._folder, ids, generation)
        if loaded is not None:
            return loaded
        rows = await self._store.passages()
        if in_own_thread:
            return await asyncio.get_running_loop().run_in_executor(
                self._build_pool, self._build, self._folder, rows, generation
            )
        return await self._in_search_thread(self._build, self._folder, rows, generation)

    def _build(self, folder: Path, rows: list[PassageRow], generation: int) -> KeywordIndex:
        index = KeywordIndex.build([r.id for r in rows], [r.text for r in rows])
        # bm25s cannot save an empty index, and an empty one costs nothing to build
        if len(index) and not self._read_only:
            index.save(folder, generation)
        return index
