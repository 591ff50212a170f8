"""The live indexes: the dense index, the keyword index and which scope each passage is in.

Loaded from the store's folder at start-up (rebuilt from stored embeddings when they
disagree with the database), told of every passage added or removed, and rebuilt when
they go stale: a small keyword index by the writer when its write is done (or before the
next question), a large one in the background while questions go on being answered from
the old one. While a write is under way, no question waits for a keyword rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable, Sequence, TypeVar

import numpy as np

from .keyword import KeywordIndex, KeywordScores
from .scopes import PassageScopes, ScopeFilter
from ..settings import VectorSettings
from ..store import PassageRow, Store
from ..types import IndexStats
from .vectors import VectorIndex, factory as vector_factory, prepare_search_thread
from ..worker import background_executor

log = logging.getLogger(__name__)

INDEX_NAME = "vectors.faiss"
# Beside the index file: the store's write generation it was saved at (see `Store.write_generation`).
GENERATION_NAME = INDEX_NAME + ".generation"
KEYWORD_DIR = "keyword"
# Up to this many passages the keyword index rebuilds in about a second (measured:
# ~12 s per 100k), so a question waits for it rather than miss the newest passages.
KEYWORD_REBUILD_WAITS_UP_TO = 20_000
# A failed background rebuild (a full disk, say) is tried again after this long.
KEYWORD_RETRY_SECONDS = 30.0

T = TypeVar("T")


class LiveIndexes:
    """The dense and keyword indexes and the passages' scopes, kept in step with the store (a `search.Search`)."""

    def __init__(self, store: Store, data_dir: Path, settings: VectorSettings, model_identity: str, read_only: bool):
        self._store = store
        # Beside another process that writes: indexes are built in memory, nothing is saved.
        self._read_only = read_only
        self._data_dir = data_dir
        self._settings = settings
        self._model_identity = model_identity
        self.vectors: VectorIndex | None = None
        self._keyword: KeywordIndex | None = None
        # Passages added or removed since opening, and how many of those the keyword index has
        # seen: it is stale until a build that started after the last change succeeds.
        self._changes = 0
        self._keyword_changes = 0
        # Writes under way (`writing`): meanwhile questions use the keyword index they find.
        self._writers = 0
        # Passages added or removed since the dense index was last saved.
        self._unsaved = False
        # A large keyword index is rebuilt in the background, in a thread that close() waits for.
        self._keyword_rebuild: asyncio.Task | None = None
        # An outgrown dense index is rebuilt in the background (k-means takes minutes at a million
        # passages); passages added or removed meanwhile are replayed on the new one before it swaps in.
        self._vector_rebuild: asyncio.Task | None = None
        self._vector_rebuilds_started = 0
        self._replay: list[tuple[str, list[int], np.ndarray | None]] = []
        self._build_pool = background_executor("newsdesk-keyword-build")
        self._scopes = PassageScopes()
        # Per set of scopes: the passages allowed (None: all), and a keyword index's 0/1 mask for them;
        # the least recently used go first past scope_cache_mb (a thousand servers would not fit).
        self._filter_cache: OrderedDict[frozenset[str], tuple[KeywordIndex, ScopeFilter | None, np.ndarray | None]] = (
            OrderedDict()
        )
        self._filter_cache_bytes = 0
        # The last filter narrowed by `only`: (only, scopes, keyword index, filter, mask).
        self._only_filter: tuple | None = None
        # One thread searches (set up as the dense index's backend wants); index builds run in threads of their own.
        self._search_pool = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-search", initializer=prepare_search_thread)

    async def search(self, fn: Callable[..., T], *args) -> T:
        """Run fn in the search thread, where searches and in-place changes to an index take turns."""
        return await asyncio.get_running_loop().run_in_executor(self._search_pool, fn, *args)

    async def close(self) -> None:
        """Stop a background rebuild, wait for a build already running in its thread (so nothing
        writes keyword/ after close), and stop the search thread."""
        for task in (self._keyword_rebuild, self._vector_rebuild):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.to_thread(self._build_pool.shutdown, wait=True)
        self._search_pool.shutdown(wait=True)

    # --- the dense index ---------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self._data_dir / INDEX_NAME

    async def load(self) -> None:
        """Load the vector index; rebuild it from stored embeddings if it disagrees with the database.

        It also gets rebuilt when the configured kind (or, for ivf, the number of lists
        the store's size calls for) has changed.
        """
        self._scopes = PassageScopes.from_groups(await self._store.passage_scopes())
        self._clear_filters()
        dim_text = await self._store.get_meta("embedding_dim")
        vectors = None
        if dim_text and self.index_path.exists() and self._saved_generation() == await self._store.write_generation():
            vectors = await asyncio.to_thread(vector_factory.load, self.index_path, int(dim_text), self._settings)
        in_step = vectors is not None and np.array_equal(np.sort(vectors.ids()), self._scopes.ids)
        if not in_step and (len(self._scopes) or vectors is not None):
            log.warning("vector index out of step with the database; rebuilding it from stored embeddings")
        if not in_step or self._outgrown(vectors):
            vectors = await self._rebuild_vectors()
        self.vectors = vectors
        self._keyword = None  # loaded or built on first search

    async def rebuild(self) -> None:
        """Rebuild every index from the store: after a re-embed, whose vectors may differ in size."""
        await self.wait_for_rebuilds()  # a background build would swap in the old vectors
        if self.index_path.exists():  # rebuilt from the new vectors, which records their size
            self.index_path.unlink()
        await self.load()

    def _saved_generation(self) -> int | None:
        try:
            return int((self._data_dir / GENERATION_NAME).read_text())
        except (OSError, ValueError):
            return None

    def _outgrown(self, vectors: VectorIndex | None) -> bool:
        return vectors is not None and vector_factory.outgrown(vectors, self._settings, len(self._scopes))

    async def _rebuild_vectors_in_background(self) -> None:
        """Build the wanted kind of index while the old one answers, replay the changes made
        meanwhile, and swap it in; a failure is reported, and the old index goes on serving."""
        try:
            index = await self._build_vectors()
            while self._replay:  # writers go on while it replays, so take one change at a time
                change, passage_ids, matrix = self._replay.pop(0)
                if change == "add":  # unless the build already read them from the store
                    keep = ~np.isin(passage_ids, index.ids())
                    await asyncio.to_thread(index.add, np.asarray(passage_ids)[keep], matrix[keep])
                else:
                    await asyncio.to_thread(index.remove, passage_ids)
            self.vectors = index  # no await since the last replayed change: nothing is missed
            await self._save_vectors(index)
        except Exception as error:
            log.error("dense index rebuild failed (%r); the old index goes on serving", error)
        finally:
            self._vector_rebuild = None
            self._replay.clear()

    async def _rebuild_vectors(self) -> VectorIndex | None:
        """A new index of the wanted kind over every stored passage vector, saved."""
        index = await self._build_vectors()
        if index is None:
            if self.index_path.exists() and not self._read_only:
                self.index_path.unlink()
        else:
            await self._save_vectors(index)
        return index

    async def _build_vectors(self) -> VectorIndex | None:
        """A new index of the wanted kind over every stored passage vector (None: no passages).

        Built in a thread of its own and streamed from the database, so questions keep
        being answered from the old index meanwhile and memory stays near the index's size.
        """
        n = len(self._scopes)
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
                    sample_ids = np.random.default_rng(0).choice(self._scopes.ids, min(n, index.training_size), replace=False)
                    sample = [m async for _, m in self._store.passage_vectors(model, sample_ids)]
                    await asyncio.to_thread(index.train, np.concatenate(sample))
            await asyncio.to_thread(index.add, ids, matrix)
        return index

    async def _save_vectors(self, vectors: VectorIndex) -> None:
        """Write the index file, then the write generation it holds (a crash between the two
        leaves them disagreeing, so the index is rebuilt, never trusted).

        Written in a thread of its own: searches only read the index, so they go on meanwhile
        (a million passages take seconds to write); writers hold the write lock."""
        if self._read_only:
            return
        generation = await self._store.write_generation()
        await asyncio.to_thread(vectors.save, self.index_path)
        (self._data_dir / GENERATION_NAME).write_text(str(generation))

    async def size(self) -> tuple[int, int]:
        """The dense index's vectors, and its file's bytes."""
        return len(self.vectors) if self.vectors else 0, self.index_path.stat().st_size if self.index_path.exists() else 0

    def stats(self) -> IndexStats | None:
        """The dense index's kind, size and passage ids (None while nothing is stored)."""
        if self.vectors is None:
            return None
        return IndexStats(self.vectors.kind, self.vectors.dim, self.vectors.lists, self.vectors.ids())

    # --- passages added and removed ----------------------------------------------

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Around a write (an upload, a removal): questions meanwhile use the keyword index as it
        is; when the last write is done, a small stale one is rebuilt before it returns (in a
        thread of its own: questions go on with the old one), so the next question needs none."""
        self._writers += 1
        try:
            yield
            small = len(self._scopes) <= KEYWORD_REBUILD_WAITS_UP_TO
            if self._writers == 1 and self._keyword is not None and self._keyword_stale and small:
                try:
                    await self._refresh_keyword(in_own_thread=True)
                except Exception as error:  # the write is committed all the same; the next question tries again
                    log.error("keyword index rebuild failed (%r); the next question tries again", error)
        finally:
            self._writers -= 1

    async def add(self, passage_ids: list[int], matrix: np.ndarray, scope: str) -> None:
        """Index passages just stored in scope, with their vectors (a row each); `save` writes the index."""
        self._scopes.add(passage_ids, scope)
        self._clear_filters()
        self._changes += 1
        if self.vectors is None:
            self.vectors = await self._rebuild_vectors()
            return
        await self.search(self.vectors.add, passage_ids, matrix)
        self._unsaved = True
        if self._vector_rebuild is not None:
            self._replay.append(("add", passage_ids, matrix))
        elif self._outgrown(self.vectors):
            self._vector_rebuild = asyncio.create_task(self._rebuild_vectors_in_background())
            self._vector_rebuilds_started += 1

    async def remove(self, passage_ids: list[int]) -> None:
        """Forget passages just removed from the store; `save` writes the index."""
        self._scopes.remove(passage_ids)
        self._clear_filters()
        self._changes += 1
        if self.vectors is not None:
            await self.search(self.vectors.remove, passage_ids)
            self._unsaved = True
            if self._vector_rebuild is not None:
                self._replay.append(("remove", passage_ids, None))

    async def save(self) -> None:
        """Write the dense index if passages were added or removed since it was last written.

        Once per write, not per chunk of an upload: at a million passages the file takes
        seconds to write. A crash before it leaves the saved index behind the store, which
        the write generation tells on the next open (the index is then rebuilt)."""
        if self._unsaved and self.vectors is not None:
            self._unsaved = False
            await self._save_vectors(self.vectors)

    # --- scopes ------------------------------------------------------------------

    def filter(
        self, scopes: Iterable[str] | None, keyword: KeywordIndex, only: np.ndarray | None = None
    ) -> tuple[ScopeFilter | None, np.ndarray | None]:
        """The passages within scopes (and among `only`, when given: a date range's, an article's), and the
        keyword index's 0/1 mask for them (None, None: everything).

        Scope filters are cached (a server asks again and again); filters narrowed by `only` change with
        every question, so only the last one is kept: a question's keyword and dense searches share it."""
        key = None if scopes is None else frozenset(scopes)
        if only is not None:
            last = self._only_filter  # holds `only` itself, so `is` cannot match a new array at a reused address
            if last is None or last[0] is not only or last[1] != key or last[2] is not keyword:
                within = self._scopes.filter(key, only)
                last = (only, key, keyword, within, keyword.mask_for(within.allowed) if within is not None else None)
                self._only_filter = last
            return last[3], last[4]
        if key is None:
            return None, None
        cached = self._filter_cache.get(key)
        if cached is None or cached[0] is not keyword:  # the mask belongs to one keyword index
            within = self._scopes.filter(key)
            cached = (keyword, within, keyword.mask_for(within.allowed) if within is not None else None)
            self._cache_filter(key, cached)
        self._filter_cache.move_to_end(key)
        return cached[1], cached[2]

    def _cache_filter(self, key: frozenset[str], entry: tuple) -> None:
        if key in self._filter_cache:
            self._filter_cache_bytes -= _filter_bytes(self._filter_cache.pop(key))
        self._filter_cache[key] = entry
        self._filter_cache_bytes += _filter_bytes(entry)
        while self._filter_cache_bytes > self._settings.scope_cache_mb * 2**20 and len(self._filter_cache) > 1:
            self._filter_cache_bytes -= _filter_bytes(self._filter_cache.popitem(last=False)[1])

    def _clear_filters(self) -> None:
        self._only_filter = None
        self._filter_cache.clear()
        self._filter_cache_bytes = 0

    # --- the keyword index -------------------------------------------------------

    async def keyword_index(self) -> KeywordIndex:
        """The keyword index: in memory, else the saved one if it covers every passage, else built and saved.

        When passages were added or removed since it was built, a small index is rebuilt
        before answering; a large one (seconds to minutes) keeps answering while a new
        one is built in the background, so no question waits. While a write is under way,
        questions answer from the index as it is, and the writer rebuilds it when done
        (`writing`). Passages added meanwhile are found by meaning, and scored by their
        words with the old index's statistics (`KeywordScores.of`).
        """
        if self._keyword is None:
            await self._refresh_keyword()
        elif self._keyword_stale and not self._writers:  # during a write, the writer rebuilds it when done
            if len(self._scopes) <= KEYWORD_REBUILD_WAITS_UP_TO:
                await self._refresh_keyword()
            elif self._keyword_rebuild is None or self._keyword_rebuild.done():
                self._keyword_rebuild = asyncio.create_task(self._rebuild_keyword_in_background())
        return self._keyword

    async def warm_up(self) -> None:
        """Load or build the keyword index now, not on the first question."""
        await self.keyword_index()

    async def has_passages(self) -> bool:
        return self.vectors is not None and len(self.vectors) > 0

    async def keyword(
        self, tokens: Sequence[str], scopes: Iterable[str] | None, k: int, only: np.ndarray | None = None
    ) -> KeywordScores:
        """BM25 scores of every passage (those outside scopes, or not among `only`, zeroed), in the search thread."""
        index = await self.keyword_index()
        _, mask = self.filter(scopes, index, only)
        return await self.search(index.scores, tokens, mask)

    async def dense(
        self, query: np.ndarray, k: int, scopes: Iterable[str] | None, only: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k passages within scopes (and among `only`) nearest the query, in the search thread."""
        vectors = self.vectors  # read now: a background rebuild may have swapped in a new one
        if vectors is None:
            return []
        within, _ = self.filter(scopes, await self.keyword_index(), only)
        return await self.search(vectors.search, query, k, within)

    async def wait_for_rebuilds(self) -> bool:
        """Wait for a background rebuild (keyword, or an outgrown dense index) to finish.

        Returns:
            Whether one was running or has been started since the engine opened.
        """
        if self._vector_rebuild is not None:
            await self._vector_rebuild
        if self._keyword_rebuild is not None:
            await self._keyword_rebuild
        # one started during an upload may have finished before it did
        return bool(self._vector_rebuilds_started) or self._keyword_rebuild is not None

    @property
    def _keyword_stale(self) -> bool:
        return self._keyword_changes != self._changes

    async def _refresh_keyword(self, in_own_thread: bool = False) -> None:
        changes = self._changes  # a change during the build leaves it stale
        self._keyword = await self._load_or_build_keyword(in_own_thread)
        self._keyword_changes = changes

    async def _rebuild_keyword_in_background(self) -> None:
        """Rebuild until the index is current: passages may change again while it builds, and a
        failed build is reported and tried again (questions go on with the old index meanwhile)."""
        while self._keyword_stale:
            try:
                await self._refresh_keyword(in_own_thread=True)
            except Exception as error:
                log.error("keyword index rebuild failed (%r); trying again in %s s", error, KEYWORD_RETRY_SECONDS)
                await asyncio.sleep(KEYWORD_RETRY_SECONDS)

    async def _load_or_build_keyword(self, in_own_thread: bool = False) -> KeywordIndex:
        ids = self._scopes.ids
        folder = self._data_dir / KEYWORD_DIR
        # read before the passages: a write in between makes the saved index look older than it is, never newer
        generation = await self._store.write_generation()
        loaded = await self.search(KeywordIndex.load, folder, ids, generation)
        if loaded is not None:
            return loaded
        rows = await self._store.passages()
        if in_own_thread:
            return await asyncio.get_running_loop().run_in_executor(
                self._build_pool, self._build_keyword, folder, rows, generation
            )
        return await self.search(self._build_keyword, folder, rows, generation)

    def _build_keyword(self, folder: Path, rows: list[PassageRow], generation: int) -> KeywordIndex:
        index = KeywordIndex.build([r.id for r in rows], [r.text for r in rows])
        # bm25s cannot save an empty index, and an empty one costs nothing to build
        if len(index) and not self._read_only:
            index.save(folder, generation)
        return index


def _filter_bytes(entry: tuple[KeywordIndex, ScopeFilter | None, np.ndarray | None]) -> int:
    _, within, mask = entry
    return (within.allowed.nbytes + within.excluded.nbytes if within is not None else 0) + (
        mask.nbytes if mask is not None else 0
    )
