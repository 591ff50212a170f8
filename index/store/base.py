"""Storage behind one interface: articles, passages, sentences, embeddings, settings and feedback.

The store is the source of truth; the vector and keyword indexes are rebuilt from it.
Ingest, the indexes, retrieval and quoting see only `Store`, so another backend (a
server database) plugs in through `factory.open_store` without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterable, Protocol, Sequence

import numpy as np

from ..types import Article, ArticleText, Follow

GLOBAL_SCOPE = "global"


@dataclass(frozen=True)
class PassageRow:
    id: int
    article_id: int
    start: int
    end: int
    text: str
    scope: str


@dataclass(frozen=True)
class SentenceVectors:
    """A passage's sentences: their spans in the article text, in order, and their vectors, a row each."""

    spans: list[tuple[int, int]]
    vectors: np.ndarray


@dataclass(frozen=True)
class NewSentence:
    start: int
    end: int
    text_hash: str


@dataclass(frozen=True)
class NewPassage:
    ordinal: int
    start: int
    end: int
    text_hash: str
    sentences: tuple[NewSentence, ...]
    # Set only when copying a store to another backend (`migrate`): the id it had there.
    id: int | None = None


@dataclass(frozen=True)
class NewArticle:
    scope: str
    content_hash: str
    title: str
    text: str
    origin: str
    source: str | None
    date: str | None
    url: str | None
    passages: tuple[NewPassage, ...]
    # Set only when copying a store to another backend (`migrate`): the id and time it had there.
    id: int | None = None
    added_at: float | None = None


@dataclass(frozen=True)
class FeedRow:
    """A subscribed feed and where its polling stands (times are epoch seconds)."""

    id: int
    scope: str
    url: str
    title: str | None
    added_by: str  # "config", "cli", or "discord"
    interval_seconds: int | None  # None: [feeds] poll_seconds
    etag: str | None
    last_modified: str | None
    created_at: float
    last_polled_at: float | None
    last_success_at: float | None
    last_error: str | None
    failures: int  # in a row; 0 after a success
    next_poll_at: float
    articles: int = 0

    def poll_values(self) -> tuple:
        """What polling changes, in the order both stores' UPDATE takes it: title, etag, last_modified,
        last_polled_at, last_success_at, last_error, failures, next_poll_at; then the id."""
        return (
            self.title, self.etag, self.last_modified, self.last_polled_at, self.last_success_at,
            self.last_error, self.failures, self.next_poll_at, self.id,
        )


@dataclass(frozen=True)
class FeedItemRow:
    """A feed entry taken in: its identity, the article it became (None once pruned or removed), its hashes."""

    id: int | None
    feed_id: int
    guid: str
    url: str
    entry_hash: str
    content_hash: str
    article_id: int | None
    published: str | None  # ISO 8601, UTC
    updated: str | None

    def values(self) -> tuple:
        """Its columns but the id, in the order both stores' INSERT and UPDATE take them: feed_id, guid,
        url, entry_hash, content_hash, article_id, published, updated."""
        return (
            self.feed_id, self.guid, self.url, self.entry_hash, self.content_hash, self.article_id,
            self.published, self.updated,
        )


class FeedStore(Protocol):
    """Feeds and the entries taken from them, scoped like articles."""

    async def add_feed(self, scope: str, url: str, added_by: str, interval_seconds: int | None, title: str | None) -> FeedRow | None:
        """A new feed, due at once; None if the scope already has that url."""

    async def feeds(self, scopes: Iterable[str] | None = None) -> list[FeedRow]:
        """Feeds within scopes, in the order they were added, with their article counts."""

    async def feed(self, feed_id: int, scopes: Iterable[str] | None = None) -> FeedRow | None: ...

    async def due_feeds(self, now: float) -> list[FeedRow]: ...

    async def update_feed(self, feed: FeedRow) -> None:
        """Save a feed's title and polling state (conditional-GET validators, times, error, failures)."""

    async def remove_feed(self, feed_id: int) -> bool:
        """Delete a feed and its item records (not its articles); True if it existed."""

    async def find_feed_item(self, feed_id: int, scope: str, guid: str, url: str) -> FeedItemRow | None:
        """The earlier version of an entry: same feed and GUID, else same canonical url in the scope."""

    async def save_feed_item(self, item: FeedItemRow) -> None:
        """Insert (id None) or update an item record."""

    async def article_ids_by_content(self, scope: str, content_hashes: Iterable[str]) -> dict[str, int]: ...

    async def feed_article_ids(self, feed_id: int) -> list[int]:
        """Articles taken in from this feed that no other feed's entries also became."""

    async def feed_article_ids_before(self, cutoff_iso: str) -> list[int]:
        """Articles from feeds published (or else first seen) before a UTC ISO time: the ones keep_days prunes."""


class Store(FeedStore, Protocol):
    """What the engine asks of its storage. Scopes of None mean every scope."""

    async def close(self) -> None: ...

    async def describe(self) -> str:
        """The backend in a few words, for health reports: its kind and where the data is (never a credential)."""

    # --- several processes sharing the store ---------------------------------------------

    async def watch_added(self, on_added: Callable[[str, tuple[int, ...]], None]) -> None:
        """From now on, call `on_added(scope, article ids)` on the event loop for the articles other
        processes commit (the embedded store: none can, it has one writer)."""

    async def take_lease(self, name: str, seconds: float) -> bool:
        """Hold the lease `name` for `seconds` (taken, or renewed if already held); False while another
        process holds it. For work done by one process at a time; a dead holder's lease expires."""

    async def drop_lease(self, name: str) -> None:
        """Give up the lease `name`, if held."""

    async def get_meta(self, key: str) -> str | None:
        """A setting kept with the data (the model, the vectors' size, folder signatures, the application's keys)."""

    async def set_meta(self, key: str, value: str) -> None: ...

    async def portable_meta(self) -> dict[str, str]:
        """Every setting kept with the data except the backend's own bookkeeping (ids given out,
        write generation, keyword totals): what a copy of the store to another backend takes along."""

    async def write_generation(self) -> int:
        """A counter bumped with every article added or removed, in the same transaction: saved indexes record it."""

    async def add_feedback(self, question: str, quotes_json: str, rater: str, helpful: bool) -> None:
        """A verdict on an answer: its question, the quotes shown (JSON), who gave it (as the application keys them)."""

    async def has_article(self, scope: str, content_hash: str) -> bool: ...

    async def known_embeddings(self, text_hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
        """Stored vectors for those texts under that model, so nothing is embedded twice."""

    async def add_articles(
        self, articles: Sequence[NewArticle], model: str, new_vectors: dict[str, np.ndarray]
    ) -> list[tuple[int, list[int]] | None]:
        """Store articles with their passages and new embeddings, all or nothing.

        Returns:
            Per article, (article id, passage ids), or None if its scope already holds that content.
        """

    async def remove_article(self, article_id: int, scopes: Iterable[str] | None = None) -> list[int] | None:
        """Delete an article (if within scopes), its passages and embeddings no longer used.

        Returns:
            The removed passage ids, or None if there was no such article in scope.
        """

    async def article(self, article_id: int, scopes: Iterable[str] | None = None) -> ArticleText | None: ...

    async def articles(
        self, scopes: Iterable[str] | None = None, title_like: str | None = None, limit: int | None = None
    ) -> list[Article]:
        """Articles within scopes, newest first."""

    async def last_added(self, scopes: Iterable[str] | None = None) -> Article | None: ...

    async def articles_by_id(self, article_ids: Iterable[int]) -> dict[int, Article]: ...

    async def article_texts(self, article_ids: Iterable[int]) -> dict[int, str]:
        """The full texts of the articles that exist among ids."""

    async def passages(self, passage_ids: Iterable[int] | None = None) -> list[PassageRow]:
        """Passages with their text and scope; all, in id order, when ids is None."""

    async def passage_scopes(self) -> dict[str, np.ndarray]:
        """Every passage id, ascending, grouped by its article's scope."""

    def passage_vectors(
        self, model: str, passage_ids: Iterable[int] | None = None, batch: int = 20_000
    ) -> AsyncIterator[tuple[np.ndarray, np.ndarray]]:
        """Passage ids with their stored vectors under model, a batch at a time (all passages if ids is None).

        Raises:
            LookupError: some passage has no vector for this model (re-embed needed).
        """

    async def texts_missing_embedding(self, model: str) -> list[tuple[str, str]]:
        """(text_hash, text) for every passage and sentence text without a vector under model."""

    async def sentence_vectors(self, passage_ids: Iterable[int], model: str) -> dict[int, SentenceVectors]:
        """The sentences of some passages with their stored vectors (passages without any are left out)."""

    async def add_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None: ...

    async def drop_embeddings_except(self, model: str) -> None: ...

    async def counts(self, scopes: Iterable[str] | None = None) -> tuple[int, int]:
        """(articles, passages) within scopes."""

    async def usage(self, scope: str) -> tuple[int, int]:
        """(articles, bytes of their texts in UTF-8) in one scope: what the per-server limits count."""

    async def passage_ids_of(
        self,
        article_ids: Iterable[int] | None = None,
        dated_from: str | None = None,
        dated_before: str | None = None,
    ) -> np.ndarray:
        """Passage ids, ascending, of those articles (None: any) dated from `dated_from` (an ISO day,
        included) to before `dated_before` (excluded); undated articles are outside any date bound."""

    async def articles_after(self, article_id: int) -> dict[str, list[int]]:
        """The ids of the articles added after `article_id` (ids only grow), ascending, by scope."""

    # --- follows: standing questions and what was delivered for them ---------------------

    async def add_follow(self, owner: str, scopes: Sequence[str], topic: str, target: str) -> Follow: ...

    async def follows(self, owner: str | None = None) -> list[Follow]:
        """Follows (of one owner, or all), oldest first."""

    async def remove_follow(self, follow_id: int, owner: str) -> Follow | None:
        """Delete an owner's follow and its deliveries; the follow removed, or None if the owner has no such follow."""

    async def claim_delivery(self, follow_id: int, article_id: int) -> bool:
        """Record that an article is delivered for a follow; False if it already was (or the follow is gone).

        Atomic, and kept across restarts: whoever claims first delivers, so each article goes out at most once."""
