"""Every write to the store: ingest (read, split, dedupe, embed, store, then tell the indexes), remove and re-embed.

A file is stored a chunk of whole articles at a time: read and split in the ingest thread,
embedded in the embedder's (both below questions in priority: `worker`), then committed in
one transaction and indexed. Questions take none of the locks involved, so they are
answered throughout, from every chunk committed so far. The commits and index updates are
serialised by a lock, so the store and the indexes always move together. New articles are
announced (`events`) a chunk at a time, once committed and indexed, after the lock is released.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from ..models.embedding import pooled_passage_vector
from ..models.encoders import Encoders
from ..errors import ModelMismatchError
from ..events import ArticlesAdded, Events
from .passages import passage_spans, sentence_spans
from .reading import (
    ArticleDraft,
    ReadLimits,
    ReadProblem,
    ReadResult,
    display_name,
    iter_corpus_files,
    read_document,
    read_path,
)
from ..search.backend import Search
from ..settings import Settings
from ..store import GLOBAL_SCOPE, NewArticle, NewPassage, NewSentence, Store
from ..worker import background_executor

T = TypeVar("T")

# How long a process that died while reading a folder keeps others from reading it.
FOLDER_LEASE_SECONDS = 300.0


def content_hash(text: str) -> str:
    """Identity of an article's or passage's text; white space differences do not count."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def chunks(articles: Sequence[tuple[ArticleDraft, str]], max_chars: int) -> Iterator[list[tuple[ArticleDraft, str]]]:
    """Consecutive (article, content hash) pairs, grouped while their texts add up to at most max_chars (an article never splits)."""
    chunk: list[tuple[ArticleDraft, str]] = []
    size = 0
    for draft, digest in articles:
        if chunk and size + len(draft.text) > max_chars:
            yield chunk
            chunk, size = [], 0
        chunk.append((draft, digest))
        size += len(draft.text)
    if chunk:
        yield chunk


def _stamp(path: Path) -> list[int]:
    """A file's size and modification time; a link's own when it leads nowhere (broken, or a loop)."""
    try:
        info = path.stat()
    except OSError:
        info = path.lstat()
    return [info.st_size, info.st_mtime_ns]


def pooled_passage_vectors(passages: Iterable[NewPassage], vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each passage's vector, by its hash, pooled from its sentences' vectors (by their hashes in vectors)."""
    return {
        p.text_hash: pooled_passage_vector(
            np.stack([vectors[s.text_hash] for s in p.sentences]), [s.end - s.start for s in p.sentences]
        )
        for p in passages
    }


@dataclass
class FileReport:
    """What ingesting one file did."""

    origin: str
    articles_added: int = 0
    passages_added: int = 0
    duplicates: int = 0
    problems: list[ReadProblem] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)  # of the articles added

    @property
    def refused(self) -> bool:
        return bool(self.problems) and self.articles_added == 0 and self.duplicates == 0


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def articles_added(self) -> int:
        return sum(f.articles_added for f in self.files)

    @property
    def passages_added(self) -> int:
        return sum(f.passages_added for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def problems(self) -> list[ReadProblem]:
        return [p for f in self.files for p in f.problems]


class Ingest:
    """Adds, removes and re-embeds articles, one write at a time, keeping the live indexes in step."""

    def __init__(self, settings: Settings, store: Store, encoders: Encoders, search: Search, events: Events):
        self._settings = settings
        self._events = events
        self._store = store
        self._encoders = encoders
        self._search = search
        self._write_lock = asyncio.Lock()
        # One file at a time per scope between counting what the scope holds and storing, so
        # that two uploads to one server cannot both fit its limits and together pass them.
        self._scope_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Reading and splitting files: off the event loop, below questions in priority.
        self._worker = background_executor("newsdesk-ingest")

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    async def _in_worker(self, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    async def start(self, allow_model_change: bool) -> None:
        """Check the store's model (`check_model`); from now on tell listeners of other processes' new articles too."""
        await self.check_model(allow_model_change)
        await self._store.watch_added(lambda scope, ids: self._events.publish(ArticlesAdded(scope, ids)))

    async def check_model(self, allow_change: bool) -> None:
        """Refuse a store embedded with another model, unless allowed (to re-embed it); record the model of a new one.

        Raises:
            ModelMismatchError: the store's passages were embedded with another model.
        """
        stored = await self._store.get_meta("embedding_model")
        _, passages = await self._store.counts()
        if stored and stored != self._encoders.model_identity and passages and not allow_change:
            raise ModelMismatchError(
                f"This store's {passages} passages were embedded with {stored}, but the configured model is "
                f"{self._encoders.model_identity}. Run `newsdesk reembed` to re-embed them with the new model, "
                f"or set [model] back to the old one."
            )
        if not stored or not passages:
            await self._store.set_meta("embedding_model", self._encoders.model_identity)

    def _read_limits(self) -> ReadLimits:
        c = self._settings.corpus
        return ReadLimits(max_file_bytes=c.max_file_bytes, max_article_chars=c.max_article_chars)

    async def ingest_paths(
        self,
        paths: Iterable[str | Path],
        scope: str = GLOBAL_SCOPE,
        on_file: Callable[[FileReport], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders (walked) into a scope; re-ingesting adds nothing twice.

        Args:
            paths: files and folders.
            scope: "global", or a Discord server id.
            on_file: called after each file, e.g. to advance a progress bar.

        Returns:
            A report per file: articles and passages added, duplicates, problems.
        """
        report = IngestReport()
        async with self._search.writing():
            for path in iter_corpus_files(paths):
                file_report = await self._ingest_path(path, scope)
                report.files.append(file_report)
                if on_file:
                    on_file(file_report)
        return report

    async def _ingest_path(self, path: Path, scope: str) -> FileReport:
        """Read and store one file. Whatever is wrong with the file is its report's problem (`read_path`
        never raises); a failing store raises, as every file after would meet it too."""
        result = await self._in_worker(read_path, path, self._read_limits())
        return await self._store_read(result, display_name(path.name), scope, strict=False)

    async def ingest_folder_if_changed(
        self, folder: Path, scope: str = GLOBAL_SCOPE, on_file: Callable[[FileReport], None] | None = None
    ) -> IngestReport | None:
        """Ingest a folder when its files changed since it was last ingested.

        Cheap when nothing changed (it only lists the files), so it suits a periodic
        scan of corpus/ and the first `ask` on a fresh clone. A changed file replaces the
        articles its old version added, and a deleted file's articles go: each file's
        articles are recorded with its size and time.

        One process reads a folder at a time (a lease in the store, renewed at each file): others
        sharing the store return None meanwhile, and find it unchanged once the reader has
        recorded what it read.

        Returns:
            The report, or None if nothing changed (or another process is reading it).
        """
        lease = f"folder:{scope}:{folder.resolve()}"
        if not await self._store.take_lease(lease, FOLDER_LEASE_SECONDS):
            return None
        try:
            return await self._ingest_folder(folder, scope, on_file, lease)
        finally:
            await self._store.drop_lease(lease)

    async def _ingest_folder(
        self, folder: Path, scope: str, on_file: Callable[[FileReport], None] | None, lease: str
    ) -> IngestReport | None:
        files = list(iter_corpus_files([folder]))
        stats = {str(f.relative_to(folder)): _stamp(f) for f in files}
        signature = hashlib.sha256(json.dumps([scope, sorted(stats.items())]).encode()).hexdigest()
        key = f"folder_signature:{folder.resolve()}"
        if await self._store.get_meta(key) == signature:
            return None
        files_key = f"folder_files:{scope}:{folder.resolve()}"
        previous = json.loads(await self._store.get_meta(files_key) or "{}")
        report, record = IngestReport(), {}
        async with self._search.writing():
            for name, entry in previous.items():
                if stats.get(name) != entry["stat"]:
                    for article_id in entry["articles"]:
                        await self.remove(article_id, [scope])
            for path in files:
                await self._store.take_lease(lease, FOLDER_LEASE_SECONDS)
                name = str(path.relative_to(folder))
                file_report = await self._ingest_path(path, scope)
                report.files.append(file_report)
                if on_file:
                    on_file(file_report)
                kept = previous[name]["articles"] if previous.get(name, {}).get("stat") == stats[name] else []
                record[name] = {"stat": stats[name], "articles": kept + file_report.article_ids}
        await self._store.set_meta(files_key, json.dumps(record))
        await self._store.set_meta(key, signature)
        return report

    async def ingest_document(self, data: bytes, name: str, scope: str, *, strict: bool = True) -> FileReport:
        """Ingest one uploaded file's bytes.

        Args:
            data: the file's content.
            name: its file name (picks the format; never used as a path).
            scope: "global", or a Discord server id.
            strict: refuse the whole file if any part of it is bad (uploads).

        Returns:
            What was added, or why the file was refused.
        """
        async with self._search.writing():
            result = await self._in_worker(read_document, data, name, self._read_limits())
            return await self._store_read(result, display_name(name), scope, strict=strict)

    async def _store_read(self, result: ReadResult, name: str, scope: str, *, strict: bool) -> FileReport:
        """Store a file's new articles a chunk at a time (`chunks`), each chunk committed whole,
        as many as the scope's limits allow (strict: all of them, or none)."""
        report = FileReport(origin=name, problems=list(result.problems))
        if strict and result.problems:
            return report
        digests = await self._in_worker(lambda: [content_hash(d.text) for d in result.articles])
        async with self._scope_lock(scope):
            fresh: list[tuple[ArticleDraft, str]] = []
            seen: set[str] = set()
            for draft, digest in zip(result.articles, digests):
                if digest in seen or await self._store.has_article(scope, digest):
                    report.duplicates += 1
                else:
                    seen.add(digest)
                    fresh.append((draft, digest))
            taken, over = await self._within_scope_limits(fresh, scope, name, strict=strict)
            if over is not None:
                report.problems.append(over)
                if strict:
                    return report
            for chunk in chunks(taken, self._settings.corpus.chunk_chars):
                await self._store_chunk(chunk, scope, report)
        async with self._write_lock:
            await self._search.save()
        return report

    def _scope_lock(self, scope: str) -> asyncio.Lock:
        lock = self._scope_locks.get(scope)
        if lock is None:
            lock = self._scope_locks[scope] = asyncio.Lock()
        return lock

    async def _within_scope_limits(
        self, fresh: list[tuple[ArticleDraft, str]], scope: str, name: str, *, strict: bool
    ) -> tuple[list[tuple[ArticleDraft, str]], ReadProblem | None]:
        """The first of the new articles that fit in the scope's limits, and the problem naming the limit the rest would pass.

        The global scope has no limits: it is the operator's (corpus/, `newsdesk ingest`, the
        feeds in config), and the limits keep one server's admins from filling a shared host,
        not the operator from filling their own.
        """
        if scope == GLOBAL_SCOPE or not fresh:
            return fresh, None
        corpus = self._settings.corpus
        stored_articles, stored_bytes = await self._store.usage(scope)
        sizes = [len(draft.text.encode()) for draft, _ in fresh]
        room_articles, room_bytes = corpus.max_articles_per_scope - stored_articles, corpus.max_bytes_per_scope - stored_bytes
        taken = 0
        for size in sizes[: max(0, room_articles)]:
            if size > room_bytes:
                break
            room_bytes -= size
            taken += 1
        if taken == len(fresh):
            return fresh, None
        if taken >= room_articles:
            limit, setting = f"{corpus.max_articles_per_scope:,} articles", "max_articles_per_scope"
            stored, adding = f"{stored_articles:,} article(s)", f"{len(fresh):,}"
        else:
            limit, setting = f"{corpus.max_bytes_per_scope:,} bytes of article text", "max_bytes_per_scope"
            stored, adding = f"{stored_bytes:,} bytes", f"{sum(sizes):,} bytes"
        reason = f"over this server's limit of {limit} ([corpus] {setting}): it has {stored} stored and this file's new articles add {adding}"
        if taken and not strict:
            reason += f"; only the first {taken:,} of them were stored"
        return fresh[:taken], ReadProblem(name, reason)

    def _new_articles(self, fresh: list[tuple[ArticleDraft, str]], scope: str, texts: dict[str, str]) -> list[NewArticle]:
        """The articles to store, split into passages and sentences (whose texts go into texts by hash)."""
        return [
            NewArticle(scope, h, d.title, d.text, d.origin, d.source, d.date, d.url, tuple(self._split(d.text, texts)))
            for d, h in fresh
        ]

    async def _store_chunk(self, fresh: list[tuple[ArticleDraft, str]], scope: str, report: FileReport) -> None:
        """Split and embed new articles outside the write lock, then commit them in one transaction and index them."""
        texts: dict[str, str] = {}
        drafts = await self._in_worker(self._new_articles, fresh, scope, texts)
        vectors = await self._vectors_for([p for d in drafts for p in d.passages], texts)
        async with self._write_lock:
            if await self._store.get_meta("embedding_dim") is None:
                # recorded before any article commits, so a crash can never leave it unset
                await self._store.set_meta("embedding_dim", str(len(next(iter(vectors.values())))))
            stored = await self._store.add_articles(drafts, self._encoders.model_identity, vectors)
            added_articles: list[int] = []
            added_ids: list[int] = []
            added_vectors: list[np.ndarray] = []
            for draft, result in zip(drafts, stored):
                if result is None:  # another writer stored the same text meanwhile
                    report.duplicates += 1
                    continue
                article_id, passage_ids = result
                added_articles.append(article_id)
                report.passages_added += len(passage_ids)
                added_ids.extend(passage_ids)
                added_vectors.extend(vectors[p.text_hash] for p in draft.passages)
            if added_ids:
                await self._search.add(added_ids, np.stack(added_vectors), scope)
        report.article_ids.extend(added_articles)
        report.articles_added += len(added_articles)
        if added_articles:  # committed and searchable; the write lock is released
            self._events.publish(ArticlesAdded(scope, tuple(added_articles)))

    def _split(self, text: str, texts: dict[str, str]) -> list[NewPassage]:
        """An article's passages and their sentences; every sentence text goes into texts by hash.

        Sentences are embedded at ingest so that marking the key sentence of a quote
        costs a few dot products at question time, not an encoder call; passages are
        pooled from them (`_vectors_for`).
        """
        p = self._settings.passages
        passages = []
        for ordinal, (start, end) in enumerate(passage_spans(text, p.max_chars, p.min_chars)):
            sentences = []
            for s_start, s_end in sentence_spans(text, start, end) or [(start, end)]:
                sentences.append(NewSentence(s_start, s_end, content_hash(text[s_start:s_end])))
                texts[sentences[-1].text_hash] = text[s_start:s_end]
            passages.append(NewPassage(ordinal, start, end, content_hash(text[start:end]), tuple(sentences)))
        return passages

    async def _vectors_for(self, passages: list[NewPassage], sentence_texts: dict[str, str]) -> dict[str, np.ndarray]:
        """Vectors for passages and their sentences (by hash): stored ones reused, the rest made now.

        Only sentences go through the encoder; a passage's vector is pooled from its
        sentences' (so each token is embedded once: ingest at the encoder's speed).
        """
        hashes = [*sentence_texts, *(p.text_hash for p in passages)]
        known = await self._store.known_embeddings(hashes, self._encoders.model_identity)
        missing = {h: t for h, t in sentence_texts.items() if h not in known}
        if missing:
            fresh = await self._encoders.embed(list(missing.values()))
            known.update(zip(missing, fresh))
        pooled = await self._in_worker(pooled_passage_vectors, [p for p in passages if p.text_hash not in known], known)
        return known | pooled

    async def remove(self, article_id: int, scopes: Iterable[str] | None = None) -> bool:
        """Delete an article and its passages, if it exists within scopes.

        Returns:
            True if an article was removed.
        """
        async with self._search.writing(), self._write_lock:
            passage_ids = await self._store.remove_article(article_id, scopes)
            if passage_ids is None:
                return False
            await self._search.remove(passage_ids)
            await self._search.save()
            return True

    async def reembed(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every passage with the configured model and rebuild the index.

        Args:
            on_batch: called with (done, total) after each batch.

        Returns:
            How many passage texts were embedded.
        """
        async with self._write_lock:
            missing = await self._store.texts_missing_embedding(self._encoders.model_identity)
            batch = max(1, self._settings.model.batch_size) * 8
            for i in range(0, len(missing), batch):
                chunk = missing[i : i + batch]
                vectors = await self._encoders.embed([t for _, t in chunk])
                await self._store.add_embeddings(self._encoders.model_identity, dict(zip((h for h, _ in chunk), vectors)))
                if on_batch:
                    on_batch(min(i + batch, len(missing)), len(missing))
            await self._store.drop_embeddings_except(self._encoders.model_identity)
            await self._store.set_meta("embedding_model", self._encoders.model_identity)
            await self._search.rebuild()
            return len(missing)

