"""The engine's facade: the one object the CLI, the Discord client and the evaluation (`newsdesk eval`) use.

    engine = await Engine.open(data_dir)
    answer = await engine.ask("why does Russia oppose the missile shield?")

It wires the parts and delegates: `ingest/` writes (`events` tells listeners what it added),
`search/` keeps the dense and keyword indexes in step with the store, `answer/` answers a
question (plan -> shortlist -> read -> quote: `answer/pipeline.py`), `answer/follows` keeps
standing questions, `feeds/` polls feeds into ingest. Slow work runs in worker threads, so
callers on an event loop stay responsive (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .answer.read import AnswerScoring
from .app_data import AppData
from .dates import DateRange
from .models.encoders import Encoders
from .events import ArticlesAdded, Events
from .feeds import Feeds
from .answer.follows import Follows
from .ingest.writer import FileReport, Ingest, IngestReport
from .answer.pipeline import Questions, utc_now
from .answer.shortlist import Retrieval
from .search.scoring import RelevanceModel
from .search.backend import open_search
from .settings import Settings, load_settings
from .store import GLOBAL_SCOPE, PassageRow, Store, open_store
from .tokenization import tokenize
from .types import Answer, Article, ArticleText, Quote, Stats
from .writer_lock import WriterLock


class Engine:
    """Ingest, store, retrieve and quote. Create with `await Engine.open(...)`."""

    def __init__(self, settings: Settings, store: Store, encoders: Encoders, writer_lock: WriterLock | None):
        self.settings = settings
        self.model_identity = encoders.model_identity
        self.read_only = writer_lock is None
        self._writer_lock = writer_lock
        self._store = store
        self._encoders = encoders
        self._search = open_search(settings, store, encoders.model_identity, self.read_only)
        self._events = Events()
        self._ingest = Ingest(settings, store, encoders, self._search, self._events)
        relevance = RelevanceModel(**asdict(settings.relevance))
        self._retrieval = Retrieval(settings.retrieval, relevance, store, self._search, encoders)
        self.clock = utc_now  # "now" for "today", "7d" and recency (UTC); tests set their own
        self._scoring = AnswerScoring(settings)
        self._questions = Questions(settings, store, self._retrieval, self._scoring, lambda: self.clock())
        self.follows = Follows(store, self._questions)
        self.app_data = AppData(store)  # what the application keeps with the data (the bot: sync hash, feedback)
        self.feeds = Feeds(self, store, settings.feeds)  # RSS, Atom, JSON Feed; entries come in by `ingest_document`

    # --- lifecycle ---------------------------------------------------------------

    @classmethod
    async def open(
        cls, data_dir: str | Path | None = None, settings: Settings | None = None, *, allow_model_change: bool = False,
        read_only: bool = False,
    ) -> "Engine":
        """Open the store in data_dir (default from settings, default `load_settings()`), checking and repairing
        the vector index. allow_model_change: open a store embedded with another model (to re-embed it);
        read_only: beside a process that writes, take no writer lock and write nothing (an index that lags the
        database is rebuilt in memory only).

        Raises:
            ModelMismatchError: the store was embedded with another model.
            WriterLockedError: not read_only, and another process writes to data_dir.
        """
        settings = settings or load_settings()
        if data_dir is not None:
            settings = settings.with_data_dir(data_dir)
        settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
        writer_lock = None if read_only else WriterLock(settings.storage.data_dir)
        if writer_lock:
            writer_lock.acquire()
        try:
            store = await open_store(settings.storage)
        except BaseException:
            if writer_lock:
                writer_lock.release()
            raise
        engine = cls(settings, store, Encoders.from_settings(settings.model), writer_lock)
        try:
            await engine._ingest.start(allow_model_change)
            await engine._search.load()
        except BaseException:
            await engine.close()
            raise
        return engine

    async def close(self) -> None:
        """Close the database and stop the worker threads."""
        await self.feeds.close()
        await self._search.close()
        await self._store.close()
        self._encoders.close()
        self._scoring.close()
        self._ingest.close()
        if self._writer_lock:
            self._writer_lock.release()

    async def __aenter__(self) -> "Engine":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def warm_up(self) -> None:
        """Load the question encoder and the reader and build the keyword index now, not on the first question.

        Raises:
            ReaderUnavailableError: the reader is enabled and its files are missing or not the pinned model.
        """
        await self._encoders.load_question_encoder()
        await self._scoring.load()
        await self._search.warm_up()

    # --- writing (see `ingest.Ingest`) -----------------------------------------------

    async def ingest_paths(
        self, paths: Iterable[str | Path], scope: str = GLOBAL_SCOPE, on_file: Callable[[FileReport], None] | None = None
    ) -> IngestReport:
        """Ingest files and folders (walked) into a scope; re-ingesting adds nothing twice."""
        return await self._ingest.ingest_paths(paths, scope, on_file)

    async def ingest_folder_if_changed(
        self, folder: Path, scope: str = GLOBAL_SCOPE, on_file: Callable[[FileReport], None] | None = None
    ) -> IngestReport | None:
        """Ingest a folder when its files changed since it was last ingested; None if nothing changed."""
        return await self._ingest.ingest_folder_if_changed(folder, scope, on_file)

    async def ingest_document(self, data: bytes, name: str, scope: str, *, strict: bool = True) -> FileReport:
        """Ingest one uploaded file's bytes (strict: refuse the whole file if any part of it is bad)."""
        return await self._ingest.ingest_document(data, name, scope, strict=strict)

    async def remove(self, article_id: int, scopes: Iterable[str] | None = None) -> bool:
        """Delete an article and its passages, if it exists within scopes; True if one was removed."""
        return await self._ingest.remove(article_id, scopes)

    async def reembed(self, on_batch: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every passage with the configured model and rebuild the index; how many texts were embedded."""
        return await self._ingest.reembed(on_batch)

    def subscribe(self, listener: Callable[[ArticlesAdded], None]) -> Callable[[], None]:
        """Call listener (on the loop; it must not wait) once new articles are committed and searchable; returns its unsubscribe."""
        return self._events.subscribe(listener)

    def observe_reads(self, listener: Callable[[float], None] | None) -> None:
        """Tell listener the seconds each read of a shortlist by the reader takes (`[reader] enabled`); None: stop."""
        self._scoring.on_read = listener

    # --- asking ------------------------------------------------------------------

    def check_question(self, question: str) -> str:
        """The question, trimmed; raises QuestionError if it cannot be asked."""
        return self._questions.check(question)

    def date_range(self, since: str | None, until: str | None) -> DateRange | None:
        """The days `since`/`until` describe (dates like 2024-05-01, ages like 7d, 2w, 12h); QuestionError if unreadable."""
        return self._questions.date_range(since, until)

    async def ask(
        self, question: str, scopes: Iterable[str] | None = None, k: int | None = None, since: str | None = None,
        until: str | None = None,
    ) -> Answer:
        """Up to k (default from config) verbatim quotes best first, from articles within scopes (None: all) and
        dated within since/until (see `date_range`); or abstained, naming the closest articles. Time words in the
        question ("latest", "today") rank newer articles first, or limit it to the days they name.

        Raises:
            QuestionError: the question is empty or too long, or since/until cannot be read.
        """
        return await self._questions.ask(question, scopes, k or self.settings.retrieval.top_k, since, until)

    async def dated_quotes(
        self, topic: str, scopes: Iterable[str] | None = None, *, newest_first: bool, limit: int = 25
    ) -> list[Quote]:
        """Each dated article's best quote about topic (above the threshold), newest or oldest first (a timeline)."""
        return await self._questions.dated_quotes(topic, scopes, newest_first=newest_first, limit=limit)

    async def search_articles(self, query: str, scopes: Iterable[str] | None = None, limit: int = 25) -> list[Article]:
        """Articles matching a query, ranked by their best passage; a search: it never abstains."""
        return await self._questions.search_articles(query, scopes, limit)

    # --- measurements, for the evaluation (`newsdesk eval`) -------------------------------
    # The baselines newsdesk is measured against search the same store and indexes as `ask`, without its fusion
    # and relevance model, so the evaluation compares like with like.

    async def rank_by_keyword(self, question: str, k: int) -> list[int]:
        """Passage ids by BM25 alone, best first (a baseline)."""
        return [pid for pid, _ in (await self._search.keyword(tokenize(question), None, k)).top(k)]

    async def rank_by_meaning(self, question: str, k: int) -> list[int]:
        """Passage ids by cosine similarity alone (the dense search: exact while an in-process index is flat), best
        first (a baseline)."""
        if not await self._search.has_passages():
            return []
        query = await self._encoders.encode_question(question)
        return [pid for pid, _ in await self._search.dense(query, k, None)]

    async def nearest_sentence(self, question: str, passage_id: int) -> tuple[int, int]:
        """The span (in article offsets) of a passage's sentence nearest the question in meaning alone (a baseline's
        marked sentence)."""
        query = await self._encoders.encode_question(question)
        sentences = (await self._store.sentence_vectors([passage_id], self.model_identity)).get(passage_id)
        if sentences is None:
            row = (await self._store.passages([passage_id]))[0]
            return row.start, row.end
        return sentences.spans[int(np.argmax(sentences.vectors @ query))]

    # --- looking up --------------------------------------------------------------

    async def passages(self, passage_ids: Iterable[int]) -> list[PassageRow]:
        """Passages by id, with their text and article id."""
        return await self._store.passages(passage_ids)

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
        vectors, size = await self._search.size()
        return Stats(articles, passages, vectors, size, self.model_identity, last_added, await self._store.describe())
