"""The engine's facade: the one object the CLI, the bot, the evaluation and the benchmarks use.

    engine = await Engine.open(data_dir)
    report = await engine.ingest_paths(["corpus/"])
    answer = await engine.ask("why does Russia oppose the missile shield?")
    await engine.close()

Slow work (embedding, index search, index builds) runs in worker threads, so callers on
an event loop stay responsive; writes are serialised by a lock so the database and the
indexes always move together.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import faiss
import numpy as np

from .batching import QuestionBatcher
from .embedding import Embedder, create_embedder, create_query_encoder, model_identity
from .errors import ModelMismatchError, QuestionError
from .keyword import KeywordIndex
from .passages import passage_spans, sentence_spans
from .reading import ArticleDraft, ReadLimits, ReadProblem, ReadResult, iter_corpus_files, read_document, read_path
from .scoring import Evidence, RelevanceModel, keyword_share, reciprocal_rank_fusion, word_weights
from .selection import Candidate, select
from .settings import Settings, load_settings
from .scopes import PassageScopes, ScopeFilter
from .store import GLOBAL_SCOPE, NewArticle, NewPassage, NewSentence, PassageRow, SentenceVectors, Store, open_store
from .types import Answer, Article, ArticleText, Quote, Stats
from .tokenization import question_tokens, tokenize
from .vectors import VectorIndex, factory as vector_factory

log = logging.getLogger(__name__)

INDEX_NAME = "vectors.faiss"
KEYWORD_DIR = "keyword"
# Up to this many passages the keyword index rebuilds in about a second (measured:
# ~12 s per 100k), so a question waits for it rather than miss the newest passages.
KEYWORD_REBUILD_WAITS_UP_TO = 20_000


def content_hash(text: str) -> str:
    """Identity of an article's or passage's text; white space differences do not count."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


@dataclass
class FileReport:
    """What ingesting one file did."""

    origin: str
    articles_added: int = 0
    passages_added: int = 0
    duplicates: int = 0
    problems: list[ReadProblem] = field(default_factory=list)

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


@dataclass
class _Retrieval:
    """One question's scored candidates and what quoting them needs."""

    rows: dict[int, PassageRow]
    articles: dict[int, Article]
    passage_vectors: dict[int, np.ndarray]
    candidates: list[Candidate]


def _relative_spans(passage: PassageRow, sentences: SentenceVectors | None) -> list[tuple[int, int]]:
    """A passage's sentence spans relative to its own text (the whole passage if it has none stored)."""
    if sentences is None:
        return [(0, len(passage.text))]
    return [(s - passage.start, e - passage.start) for s, e in sentences.spans]


class Engine:
    """Ingest, store, retrieve and quote. Create with `await Engine.open(...)`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder_factory: Callable[[], Embedder],
        query_encoder_factory: Callable[[], Embedder],
        identity: str,
    ):
        self.settings = settings
        self._store = store
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._query_encoder_factory = query_encoder_factory
        self._query_encoder: Embedder | None = None
        self.model_identity = identity
        self._relevance = RelevanceModel(**asdict(settings.relevance))
        self._data_dir = settings.storage.data_dir
        self._vectors: VectorIndex | None = None
        self._keyword: KeywordIndex | None = None
        # The keyword index is stale once passages change; a large one is rebuilt in the background.
        self._keyword_stale = False
        self._keyword_rebuild: asyncio.Task | None = None
        self._scopes = PassageScopes()
        # Per set of scopes: the passages allowed (None: all), and a keyword index's 0/1 mask for them.
        self._filter_cache: dict[frozenset[str], tuple[KeywordIndex, ScopeFilter | None, np.ndarray | None]] = {}
        # One thread embeds; another searches and rebuilds indexes. Neither blocks the loop.
        self._encoder_pool = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-encode")
        # One OpenMP thread for searches (OpenMP settings are per thread): splitting one
        # question's scan over both cores made it 10-20x slower whenever the other core was
        # busy (flat, 10k passages: 0.7 ms on one thread, 14 ms on two). Index builds,
        # which do parallelise, run in threads of their own with the default.
        self._search_pool = ThreadPoolExecutor(
            1, thread_name_prefix="newsdesk-search", initializer=faiss.omp_set_num_threads, initargs=(1,)
        )
        self._write_lock = asyncio.Lock()
        self._question_batcher = QuestionBatcher(
            lambda questions: self._run(self._encoder_pool, lambda: self._loaded_query_encoder().encode(questions))
        )

    # --- lifecycle ---------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        data_dir: str | Path | None = None,
        settings: Settings | None = None,
        *,
        allow_model_change: bool = False,
    ) -> "Engine":
        """Open the store in data_dir, checking and repairing the vector index.

        Args:
            data_dir: the store's folder (created if missing); default from settings.
            settings: defaults to `load_settings()`.
            allow_model_change: open a store embedded with another model (to re-embed it).

        Returns:
            The open engine.

        Raises:
            ModelMismatchError: the store was embedded with another model.
        """
        settings = settings or load_settings()
        if data_dir is not None:
            settings = settings.with_data_dir(data_dir)
        data_dir = settings.storage.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        m = settings.model
        store = await open_store(settings.storage)
        options = {"allow_download": m.allow_download, "batch_size": m.batch_size}
        engine = cls(
            settings,
            store,
            lambda: create_embedder(m.backend, m.name, **options),
            lambda: create_query_encoder(m.backend, m.name, m.query_onnx, **options),
            model_identity(m.backend, m.name),
        )
        try:
            await engine._check_model(allow_model_change)
            await engine._load_indexes()
        except BaseException:
            await engine.close()
            raise
        return engine

    async def close(self) -> None:
        """Close the database and stop the worker threads."""
        if self._keyword_rebuild is not None and not self._keyword_rebuild.done():
            self._keyword_rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keyword_rebuild
        await self._store.close()
        self._encoder_pool.shutdown(wait=True)
        self._search_pool.shutdown(wait=True)

    async def __aenter__(self) -> "Engine":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _check_model(self, allow_change: bool) -> None:
        stored = await self._store.get_meta("embedding_model")
        _, passages = await self._store.counts()
        if stored and stored != self.model_identity and passages and not allow_change:
            raise ModelMismatchError(
                f"This store's {passages} passages were embedded with {stored}, but the configured model is "
                f"{self.model_identity}. Run `newsdesk reembed` to re-embed them with the new model, "
                f"or set [model] back to the old one."
            )
        if not stored or not passages:
            await self._store.set_meta("embedding_model", self.model_identity)

    async def _run(self, pool: ThreadPoolExecutor, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    def _loaded_embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def _loaded_query_encoder(self) -> Embedder:
        if self._query_encoder is None:
            self._query_encoder = self._query_encoder_factory()
        return self._query_encoder

    async def warm_up(self) -> None:
        """Load the question encoder and build the keyword index now, not on the first question."""
        await self._run(self._encoder_pool, self._loaded_query_encoder)
        await self._ensure_keyword()

    async def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passage and sentence texts with the configured model."""
        return await self._run(self._encoder_pool, lambda: self._loaded_embedder().encode(texts))

    async def _embed_question(self, question: str) -> np.ndarray:
        return await self._question_batcher.encode(question)

    @property
    def _index_path(self) -> Path:
        return self._data_dir / INDEX_NAME

    async def _load_indexes(self) -> None:
        """Load the vector index; rebuild it from stored embeddings if it disagrees with the database.

        It also gets rebuilt when the configured kind (or, for ivf, the number of lists
        the store's size calls for) has changed.
        """
        self._scopes = PassageScopes.from_groups(await self._store.passage_scopes())
        self._filter_cache.clear()
        dim_text = await self._store.get_meta("embedding_dim")
        vectors = None
        if dim_text and self._index_path.exists():
            vectors = await asyncio.to_thread(vector_factory.load, self._index_path, int(dim_text), self.settings.vectors)
        in_step = vectors is not None and np.array_equal(np.sort(vectors.ids()), self._scopes.ids)
        if not in_step and (len(self._scopes) or vectors is not None):
            log.warning("vector index out of step with the database; rebuilding it from stored embeddings")
        if not in_step or self._wants_rebuild(vectors):
            vectors = await self._rebuild_vectors()
        self._vectors = vectors
        self._keyword = None  # loaded or built on first search

    def _wants_rebuild(self, vectors: VectorIndex | None) -> bool:
        return vectors is not None and vector_factory.outgrown(vectors, self.settings.vectors, len(self._scopes))

    async def _rebuild_vectors(self) -> VectorIndex | None:
        """A new index of the wanted kind over every stored passage vector, saved.

        Built in a thread of its own and streamed from the database, so questions keep
        being answered from the old index meanwhile and memory stays near the index's size.
        """
        n = len(self._scopes)
        if not n:
            if self._index_path.exists():
                self._index_path.unlink()
            return None
        model = self.model_identity
        index: VectorIndex | None = None
        async for ids, matrix in self._store.passage_vectors(model):
            if index is None:
                index = vector_factory.create(matrix.shape[1], self.settings.vectors, n)
                if await self._store.get_meta("embedding_dim") != str(matrix.shape[1]):  # new, or re-embedded
                    await self._store.set_meta("embedding_dim", str(matrix.shape[1]))
                if index.training_size:
                    sample_ids = np.random.default_rng(0).choice(self._scopes.ids, min(n, index.training_size), replace=False)
                    sample = [m async for _, m in self._store.passage_vectors(model, sample_ids)]
                    await asyncio.to_thread(index.train, np.concatenate(sample))
            await asyncio.to_thread(index.add, ids, matrix)
        await asyncio.to_thread(index.save, self._index_path)
        return index

    # --- ingesting ---------------------------------------------------------------

    def read_limits(self) -> ReadLimits:
        c = self.settings.corpus
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
        limits = self.read_limits()
        for path in iter_corpus_files(paths):
            result = await asyncio.to_thread(read_path, path, limits)
            file_report = await self._store_read(result, path.name, scope, strict=False)
            report.files.append(file_report)
            if on_file:
                on_file(file_report)
        return report

    async def ingest_folder_if_changed(self, folder: Path, scope: str = GLOBAL_SCOPE) -> IngestReport | None:
        """Ingest a folder when its files changed since it was last ingested.

        Cheap when nothing changed (it only lists the files), so it suits a periodic
        scan of corpus/ and the first `ask` on a fresh clone.

        Returns:
            The report, or None if nothing changed.
        """
        files = list(iter_corpus_files([folder]))
        listing = sorted((str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
        signature = hashlib.sha256(json.dumps([scope, listing]).encode()).hexdigest()
        key = f"folder_signature:{folder.resolve()}"
        if await self._store.get_meta(key) == signature:
            return None
        report = await self.ingest_paths(files, scope)
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
        result = await asyncio.to_thread(read_document, data, name, self.read_limits())
        return await self._store_read(result, name, scope, strict=strict)

    async def _store_read(self, result: ReadResult, name: str, scope: str, *, strict: bool) -> FileReport:
        report = FileReport(origin=name, problems=list(result.problems))
        if strict and result.problems:
            return report
        async with self._write_lock:
            new_articles: list[tuple[ArticleDraft, str, list[NewPassage]]] = []
            texts: dict[str, str] = {}
            seen: set[str] = set()
            for draft in result.articles:
                digest = content_hash(draft.text)
                if digest in seen or await self._store.has_article(scope, digest):
                    report.duplicates += 1
                    continue
                seen.add(digest)
                new_articles.append((draft, digest, self._split(draft.text, texts)))
            if not new_articles:
                return report
            vectors = await self._vectors_for(texts)
            if await self._store.get_meta("embedding_dim") is None:
                # recorded before any article commits, so a crash can never leave it unset
                await self._store.set_meta("embedding_dim", str(len(next(iter(vectors.values())))))
            drafts = [
                NewArticle(scope, digest, d.title, d.text, d.origin, d.source, d.date, d.url, tuple(passages))
                for d, digest, passages in new_articles
            ]
            stored = await self._store.add_articles(drafts, self.model_identity, vectors)
            added_ids: list[int] = []
            added_vectors: list[np.ndarray] = []
            for draft, result in zip(drafts, stored):
                if result is None:  # another writer stored the same text meanwhile
                    report.duplicates += 1
                    continue
                _, passage_ids = result
                report.articles_added += 1
                report.passages_added += len(passage_ids)
                added_ids.extend(passage_ids)
                added_vectors.extend(vectors[p.text_hash] for p in draft.passages)
            if added_ids:
                self._scopes.add(added_ids, scope)
                await self._index_added(added_ids, np.stack(added_vectors))
        return report

    def _split(self, text: str, texts: dict[str, str]) -> list[NewPassage]:
        """An article's passages and their sentences; every text to embed goes into texts by hash.

        Sentences are embedded at ingest so that marking the key sentence of a quote
        costs a few dot products at question time, not an encoder call.
        """
        p = self.settings.passages
        passages = []
        for ordinal, (start, end) in enumerate(passage_spans(text, p.max_chars, p.min_chars)):
            sentences = []
            for s_start, s_end in sentence_spans(text, start, end) or [(start, end)]:
                sentences.append(NewSentence(s_start, s_end, content_hash(text[s_start:s_end])))
                texts[sentences[-1].text_hash] = text[s_start:s_end]
            passage = NewPassage(ordinal, start, end, content_hash(text[start:end]), tuple(sentences))
            texts[passage.text_hash] = text[start:end]
            passages.append(passage)
        return passages

    async def _vectors_for(self, texts: dict[str, str]) -> dict[str, np.ndarray]:
        """Vectors for texts (by hash): stored ones reused, the rest embedded now."""
        known = await self._store.known_embeddings(texts, self.model_identity)
        missing = {h: t for h, t in texts.items() if h not in known}
        if missing:
            fresh = await self._embed(list(missing.values()))
            known.update(zip(missing, fresh))
        return known

    async def _index_added(self, passage_ids: list[int], matrix: np.ndarray) -> None:
        self._filter_cache.clear()
        self._keyword_stale = True
        if self._vectors is None or self._wants_rebuild(self._vectors):
            self._vectors = await self._rebuild_vectors()
            return
        await self._run(self._search_pool, self._vectors.add, passage_ids, matrix)
        await self._save_vectors()

    async def _save_vectors(self) -> None:
        """Write the index file in a thread of its own: searches only read the index, so they
        go on meanwhile (a million passages take seconds to write); writers hold the write lock."""
        await asyncio.to_thread(self._vectors.save, self._index_path)

    async def remove(self, article_id: int, scopes: Iterable[str] | None = None) -> bool:
        """Delete an article and its passages, if it exists within scopes.

        Returns:
            True if an article was removed.
        """
        async with self._write_lock:
            passage_ids = await self._store.remove_article(article_id, scopes)
            if passage_ids is None:
                return False
            self._scopes.remove(passage_ids)
            self._filter_cache.clear()
            self._keyword_stale = True
            if self._vectors is not None:
                await self._run(self._search_pool, self._vectors.remove, passage_ids)
                await self._save_vectors()
            return True

    async def reembed(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every passage with the configured model and rebuild the index.

        Args:
            on_batch: called with (done, total) after each batch.

        Returns:
            How many passage texts were embedded.
        """
        async with self._write_lock:
            missing = await self._store.texts_missing_embedding(self.model_identity)
            batch = max(1, self.settings.model.batch_size) * 8
            for i in range(0, len(missing), batch):
                chunk = missing[i : i + batch]
                vectors = await self._embed([t for _, t in chunk])
                await self._store.add_embeddings(self.model_identity, dict(zip((h for h, _ in chunk), vectors)))
                if on_batch:
                    on_batch(min(i + batch, len(missing)), len(missing))
            await self._store.drop_embeddings_except(self.model_identity)
            await self._store.set_meta("embedding_model", self.model_identity)
            if self._index_path.exists():  # rebuilt from the new vectors, which records their size
                self._index_path.unlink()
            await self._load_indexes()
            return len(missing)

    # --- asking ------------------------------------------------------------------

    def _filter(self, scopes: Iterable[str] | None, keyword: KeywordIndex) -> tuple[ScopeFilter | None, np.ndarray | None]:
        """The passages within scopes, and the keyword index's 0/1 mask for them (None, None: everything)."""
        if scopes is None:
            return None, None
        key = frozenset(scopes)
        cached = self._filter_cache.get(key)
        if cached is None or cached[0] is not keyword:  # the mask belongs to one keyword index
            within = self._scopes.filter(key)
            cached = (keyword, within, keyword.mask_for(within.allowed) if within is not None else None)
            self._filter_cache[key] = cached
        return cached[1], cached[2]

    async def _ensure_keyword(self) -> KeywordIndex:
        """The keyword index: in memory, else the saved one if it covers every passage, else built and saved.

        When passages were added or removed since it was built, a small index is rebuilt
        before answering; a large one (seconds to minutes) keeps answering while a new
        one is built in the background, so no question waits. Passages added meanwhile
        are scored by their words with the old index's statistics (`KeywordScores.of`).
        """
        if self._keyword is None:
            self._keyword = await self._load_or_build_keyword()
            self._keyword_stale = False
        elif self._keyword_stale:
            if len(self._scopes) <= KEYWORD_REBUILD_WAITS_UP_TO:
                self._keyword_stale = False
                self._keyword = await self._load_or_build_keyword()
            elif self._keyword_rebuild is None or self._keyword_rebuild.done():
                self._keyword_rebuild = asyncio.create_task(self._rebuild_keyword_in_background())
        return self._keyword

    async def _rebuild_keyword_in_background(self) -> None:
        while self._keyword_stale:  # passages may change again while it builds
            self._keyword_stale = False
            self._keyword = await self._load_or_build_keyword(in_own_thread=True)

    async def _load_or_build_keyword(self, in_own_thread: bool = False) -> KeywordIndex:
        ids = self._scopes.ids
        folder = self._data_dir / KEYWORD_DIR
        loaded = await self._run(self._search_pool, KeywordIndex.load, folder, ids)
        if loaded is not None:
            return loaded
        rows = await self._store.passages()
        if in_own_thread:
            return await asyncio.to_thread(self._build_keyword, folder, rows)
        return await self._run(self._search_pool, self._build_keyword, folder, rows)

    @staticmethod
    def _build_keyword(folder: Path, rows: list[PassageRow]) -> KeywordIndex:
        index = KeywordIndex.build([r.id for r in rows], [r.text for r in rows])
        if len(index):  # bm25s cannot save an empty index, and an empty one costs nothing to build
            index.save(folder)
        return index

    def check_question(self, question: str) -> str:
        """The question, trimmed; raises QuestionError if it cannot be asked."""
        question = " ".join(question.split())
        if not question:
            raise QuestionError("Ask a question: the text is empty.")
        limit = self.settings.question.max_chars
        if len(question) > limit:
            raise QuestionError(f"That question is {len(question):,} characters long; the limit is {limit:,}.")
        return question

    async def _retrieve(self, question: str, scopes: Iterable[str] | None) -> "_Retrieval | None":
        """The question's candidate passages, each scored by the relevance model with its key sentence chosen.

        Two lists of candidates, by words (BM25) and by meaning (the dense index), are merged
        by reciprocal rank; the best `rerank_depth` of them are read with their sentences and
        scored on their evidence (the rest could not climb past them: measured on both eval sets,
        depth 20-40 ranks alike).
        """
        r = self.settings.retrieval
        keyword = await self._ensure_keyword()
        vectors = self._vectors
        if vectors is None or not len(vectors):
            return None
        tokens = question_tokens(question)
        within, mask = self._filter(scopes, keyword)
        # The words need no encoder: their candidates are found while it runs.
        encoding = asyncio.ensure_future(self._embed_question(question))
        try:
            keyword_scores = await self._run(self._search_pool, keyword.scores, tokens, mask)
            keyword_ids = [pid for pid, _ in keyword_scores.top(r.candidates)]
            query = await encoding
        finally:
            encoding.cancel()  # if scoring failed; a no-op once it is done
        dense_ids = [pid for pid, _ in await self._run(self._search_pool, vectors.search, query, r.candidates, within)]
        shortlist = reciprocal_rank_fusion([keyword_ids, dense_ids])[: r.rerank_depth]
        rows: dict[int, PassageRow] = {}
        articles: dict[int, Article] = {}
        passage_vectors: dict[int, np.ndarray] = {}
        await self._read_candidates(shortlist, rows, articles, passage_vectors)
        ids = [pid for pid in shortlist if pid in rows]  # in rows: not removed meanwhile
        if not ids:
            return None
        sentences = await self._store.sentence_vectors(ids, self.model_identity)
        ideal = keyword.ideal_score(tokens) or 1.0
        weights = word_weights(tokens, keyword.idf)
        candidates = []
        for pid, keyword_score in zip(ids, keyword_scores.of(ids, [rows[pid].text for pid in ids])):
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
            )
            key = spans[int(np.argmax(self._relevance.sentence_scores(cosines, shares)))]
            article = articles[row.article_id]
            candidates.append(Candidate(pid, article.id, article.date, self._relevance.probability(evidence), evidence, key))
        return _Retrieval(rows, articles, passage_vectors, candidates)

    async def _read_candidates(
        self,
        ids: list[int],
        rows: dict[int, PassageRow],
        articles: dict[int, Article],
        passage_vectors: dict[int, np.ndarray],
    ) -> None:
        """Add the passages of ids not read yet to rows, with their articles and exact stored vectors.

        Exact vectors, because the index's scores may be approximate and keyword-only
        candidates have none.
        """
        new = [pid for pid in ids if pid not in rows]
        if not new:
            return
        found = await self._store.passages(new)  # a passage removed meanwhile is simply missing
        rows.update((p.id, p) for p in found)
        articles.update(await self._store.articles_by_id({p.article_id for p in found} - set(articles)))
        async for found_ids, matrix in self._store.passage_vectors(self.model_identity, [p.id for p in found]):
            passage_vectors.update(zip(found_ids.tolist(), matrix))

    async def ask(self, question: str, scopes: Iterable[str] | None = None, k: int | None = None) -> Answer:
        """Answer a question with verbatim quotes from stored articles, or abstain.

        Args:
            question: the member's question.
            scopes: limit the search to these scopes (None: all).
            k: how many quotes at most (default from config).

        Returns:
            The answer: quotes best first, or abstained with the closest articles.

        Raises:
            QuestionError: the question is empty or too long.
        """
        started = time.perf_counter()
        question = self.check_question(question)
        r = self.settings.retrieval
        found = await self._retrieve(question, scopes)

        def answer(**fields) -> Answer:
            return Answer(question, elapsed_ms=(time.perf_counter() - started) * 1000, **fields)

        if found is None:
            return answer(abstained=True)
        # Every quote must clear the threshold on its own, so an answer never trails off into
        # unrelated passages (on OneStopQA news this costs hit@5 0.877 -> 0.856: later hits
        # that score below it are not shown).
        relevant = [c for c in found.candidates if c.score >= r.abstain_below]
        if not relevant:
            nearest = sorted(found.candidates, key=lambda c: -c.evidence.dense)
            closest = list(dict.fromkeys(c.article_id for c in nearest))[:3]
            return answer(abstained=True, closest=[found.articles[a] for a in closest])
        chosen = select(
            relevant,
            k or r.top_k,
            vector_of=found.passage_vectors.__getitem__,
            duplicate_similarity=r.duplicate_similarity,
            same_article_factor=r.same_article_factor,
            recency_tie=r.recency_tie,
        )
        return answer(abstained=False, answers=self._quote(chosen, found))

    async def candidates(self, question: str, scopes: Iterable[str] | None = None) -> list[Candidate]:
        """The question's scored candidate passages, best first, with their evidence: what `ask` chooses from.

        For training the relevance model and inspecting a ranking; it never abstains.
        """
        found = await self._retrieve(self.check_question(question), scopes)
        return [] if found is None else sorted(found.candidates, key=lambda c: -c.score)

    async def search_articles(self, query: str, scopes: Iterable[str] | None = None, limit: int = 25) -> list[Article]:
        """Articles matching a query, best first, ranked by their best passage.

        Unlike `ask`, this never abstains: it is a search, and weak matches still list.
        """
        found = await self._retrieve(self.check_question(query), scopes)
        if found is None:
            return []
        best: dict[int, float] = {}
        for c in found.candidates:
            best[c.article_id] = max(best.get(c.article_id, 0.0), c.score)
        ranked = sorted(best, key=lambda a: -best[a])[:limit]
        return [found.articles[a] for a in ranked]

    def _quote(self, chosen: list[Candidate], found: "_Retrieval") -> list[Quote]:
        """Turn chosen passages into quotes, each with its key sentence marked."""
        quotes = []
        for c in chosen:
            p = found.rows[c.passage_id]
            h_start, h_end = c.key_sentence
            quotes.append(
                Quote(
                    quote=p.text,
                    highlight=p.text[h_start:h_end],
                    highlight_start=h_start,
                    highlight_end=h_end,
                    score=c.score,
                    start=p.start,
                    end=p.end,
                    article=found.articles[p.article_id],
                )
            )
        return quotes

    # --- baselines, for evaluation and benchmarks ------------------------------------

    async def rank_dense(self, question: str, k: int) -> list[int]:
        """Passage ids by cosine similarity alone (the FAISS index's search: exact while it is flat), best first."""
        if self._vectors is None:
            return []
        query = await self._embed_question(question)
        vectors = self._vectors
        hits = await self._run(self._search_pool, vectors.search, query, k)
        return [pid for pid, _ in hits]

    async def rank_keyword(self, question: str, k: int) -> list[int]:
        """Passage ids by BM25 alone, best first."""
        keyword = await self._ensure_keyword()
        tokens = tokenize(question)
        hits = await self._run(self._search_pool, lambda: keyword.scores(tokens).top(k))
        return [pid for pid, _ in hits]

    async def nearest_sentence(self, question: str, passage_id: int) -> tuple[int, int]:
        """The span (in article offsets) of a passage's sentence nearest the question in meaning alone."""
        query = await self._embed_question(question)
        sentences = (await self._store.sentence_vectors([passage_id], self.model_identity)).get(passage_id)
        if sentences is None:
            row = (await self._store.passages([passage_id]))[0]
            return row.start, row.end
        return sentences.spans[int(np.argmax(sentences.vectors @ query))]

    async def passages(self, passage_ids: Iterable[int]) -> list[PassageRow]:
        """Passages by id, with their text and article id."""
        return await self._store.passages(passage_ids)

    # --- what the bot keeps -------------------------------------------------------

    async def record_feedback(self, answer: Answer, user_id: int | str, helpful: bool) -> None:
        """Store a member's verdict on an answer, with the quotes shown and the user id hashed.

        The hash is keyed by a random salt kept in this store, so ids cannot be
        recovered by hashing candidate ids.
        """
        salt = await self._store.get_meta("feedback_salt")
        if salt is None:
            salt = secrets.token_hex(16)
            await self._store.set_meta("feedback_salt", salt)
        user_hash = hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()
        shown = [{"article_id": q.article.id, "start": q.start, "end": q.end} for q in answer.answers]
        await self._store.add_feedback(answer.question, json.dumps(shown), user_hash, helpful)

    async def get_setting(self, key: str) -> str | None:
        """A value the application keeps with the data (e.g. the last synced command schema)."""
        return await self._store.get_meta(f"app:{key}")

    async def set_setting(self, key: str, value: str) -> None:
        await self._store.set_meta(f"app:{key}", value)

    # --- looking up --------------------------------------------------------------

    async def articles(
        self, scopes: Iterable[str] | None = None, title_like: str | None = None, limit: int | None = None
    ) -> list[Article]:
        """Stored articles within scopes, newest first (optionally whose title contains title_like)."""
        return await self._store.articles(scopes, title_like, limit)

    async def article(self, article_id: int, scopes: Iterable[str] | None = None) -> ArticleText | None:
        """One article's metadata and full text, if it exists within scopes."""
        return await self._store.article(article_id, scopes)

    async def stats(self, scopes: Iterable[str] | None = None) -> Stats:
        """Counts of articles and passages, the index's size, and the newest article."""
        articles, passages = await self._store.counts(scopes)
        last_added = await self._store.last_added(scopes)
        size = self._index_path.stat().st_size if self._index_path.exists() else 0
        return Stats(articles, passages, len(self._vectors) if self._vectors else 0, size, self.model_identity, last_added)
