"""Feeds as the application sees them: add (validated at once), list, remove, poll what is due, and watch.

A server's feeds are in its scope, like its uploads; feeds from the CLI or `[feeds] urls`
are global.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from yarl import URL

from ..settings import FeedSettings
from ..store import GLOBAL_SCOPE, FeedRow, FeedStore
from .addresses import ALLOWED_SCHEMES
from ..ingest.untrusted import plain_line, shown
from .ingest_port import IngestPort
from .fetching import FetchError
from .items import LINK_MAX_CHARS
from .parsing import FeedError
from .polling import FeedPoller, PollReport, items_limit_note


log = logging.getLogger(__name__)

# How long a process that died while polling a feed keeps the others from polling it.
FEED_LEASE_SECONDS = 300.0


class FeedRefused(Exception):
    """A feed could not be added; the message says why in one sentence."""


@dataclass(frozen=True)
class AddedFeed:
    feed: FeedRow
    entries: int  # items the feed holds now
    limited: str | None = None  # which of them a poll leaves, if it cannot take them all


@dataclass(frozen=True)
class RemovedFeed:
    feed: FeedRow
    articles_removed: int


def is_failing(feed: FeedRow, settings: FeedSettings) -> bool:
    """A feed that failed failing_after polls in a row: shown as failing, and polled ever less often."""
    return feed.failures >= settings.failing_after


def feed_state(feed: FeedRow, settings: FeedSettings) -> str:
    """"new" (never polled), "ok", "error" (the last poll failed) or "failing" (failing_after polls in a row)."""
    if is_failing(feed, settings):
        return "failing"
    if feed.last_polled_at is None:
        return "new"
    return "error" if feed.failures else "ok"


class Feeds:
    """The engine's feeds (`engine.feeds`)."""

    def __init__(self, articles: IngestPort, store: FeedStore, settings: FeedSettings):
        self.settings = settings
        self._articles = articles
        self._store = store
        self._poller = FeedPoller(articles, store, settings)
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()  # feeds being polled: never two polls of one feed at once

    async def close(self) -> None:
        await self._poller.close()

    async def add(
        self, url: str, scope: str = GLOBAL_SCOPE, added_by: str = "cli", interval_seconds: int | None = None
    ) -> AddedFeed:
        """Subscribe a scope to a feed, after fetching and parsing it once; its entries are taken in by the next poll.

        Raises:
            FeedRefused: not an http(s) url, unreachable or refused address, not a feed, already
                subscribed, or the scope has max_feeds_per_server feeds already.
        """
        url = url.strip()
        try:
            scheme = URL(url).scheme
        except ValueError:
            scheme = ""
        if scheme not in ALLOWED_SCHEMES:
            raise FeedRefused(f"{shown(url)} is not an http(s) url")
        if plain_line(url, LINK_MAX_CHARS) != url:  # it is stored, listed and printed as given
            raise FeedRefused(f"{shown(url)} is over {LINK_MAX_CHARS:,} characters long or holds control characters")
        if interval_seconds is not None and interval_seconds < 1:
            raise FeedRefused("a feed's interval must be at least 1 second")
        await self._check_room(scope)  # before fetching: a full scope costs no request
        try:
            _, parsed = await self._poller.fetch_feed(url)
        except (FetchError, FeedError) as exc:
            raise FeedRefused(str(exc)) from None
        await self._check_room(scope)  # again: another add may have filled it during the fetch
        feed = await self._store.add_feed(scope, url, added_by, interval_seconds, parsed.title)
        if feed is None:
            raise FeedRefused(f"{shown(url)} is already subscribed here")
        log.info("feed %s added to scope %s (%d entries)", url, scope, len(parsed.entries))
        self._wake.set()
        return AddedFeed(feed, len(parsed.entries), items_limit_note(len(parsed.entries), self.settings))

    async def _check_room(self, scope: str) -> None:
        """Refuse another feed in a scope that has max_feeds_per_server; its feeds are left as they are."""
        limit = self.settings.max_feeds_per_server
        if len(await self._store.feeds([scope])) >= limit:
            where = "the global scope" if scope == GLOBAL_SCOPE else "this server"
            raise FeedRefused(
                f"{where} already has {limit} feeds, the most allowed ([feeds] max_feeds_per_server = {limit}); "
                "remove one to add another"
            )

    async def list(self, scopes: Iterable[str] | None = None) -> list[FeedRow]:
        return await self._store.feeds(scopes)

    async def remove(
        self, feed_id: int, scopes: Iterable[str] | None = None, remove_articles: bool = False
    ) -> RemovedFeed | None:
        """Unsubscribe (within scopes), optionally removing the articles only this feed brought; None if no such feed."""
        feed = await self._store.feed(feed_id, scopes)
        if feed is None:
            return None
        async with self._poller.scope_lock(feed.scope):  # a poll in flight finishes recording its entries first
            article_ids = await self._store.feed_article_ids(feed_id) if remove_articles else []
            removed = 0
            for article_id in article_ids:
                removed += await self._articles.remove(article_id, [feed.scope])
            await self._store.remove_feed(feed_id)
        return RemovedFeed(feed, removed)

    async def sync_config(self) -> None:
        """Subscribe the global scope to `[feeds] urls` not yet subscribed (checked when first polled)."""
        subscribed = {f.url for f in await self._store.feeds([GLOBAL_SCOPE])}
        for url in self.settings.urls:
            if url not in subscribed:
                await self._store.add_feed(GLOBAL_SCOPE, url, "config", None, None)

    async def poll_due(
        self, on_report: Callable[[PollReport], None] | None = None, everything: bool = False
    ) -> list[PollReport]:
        """Poll every feed that is due (or every feed), at once (per-host limits apply), then prune by keep_days."""
        due = await self._store.feeds() if everything else await self._store.due_feeds(time.time())
        due = [feed for feed in due if feed.id not in self._in_flight]
        self._in_flight.update(feed.id for feed in due)
        reports = []

        async def poll(feed: FeedRow) -> None:
            # Processes sharing the store poll a feed once: whoever holds its lease, if it is still due then.
            lease = f"feed:{feed.id}"
            try:
                if not await self._store.take_lease(lease, FEED_LEASE_SECONDS):
                    return
                current = await self._store.feed(feed.id)
                if current is None or (not everything and current.next_poll_at > time.time()):
                    return  # removed, or polled by another process meanwhile
                report = await self._poller.poll(current)
            finally:
                self._in_flight.discard(feed.id)
                await self._store.drop_lease(lease)
            reports.append(report)
            if on_report:
                on_report(report)

        await asyncio.gather(*(poll(feed) for feed in due))
        await self.prune()
        return reports

    async def prune(self) -> int:
        """Remove feed articles published more than keep_days ago (none when keep_days is 0); how many went."""
        if self.settings.keep_days <= 0:
            return 0
        cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=self.settings.keep_days)
        removed = 0
        for article_id in await self._store.feed_article_ids_before(cutoff.isoformat()):
            removed += await self._articles.remove(article_id)
        return removed

    async def due_count(self) -> int:
        return len(await self._store.due_feeds(time.time()))

    async def watch(self, on_report: Callable[[PollReport], None] | None = None) -> None:
        """Poll due feeds until cancelled, sleeping until the next is due (or a feed is added)."""
        while True:
            self._wake.clear()
            delay = self.settings.poll_seconds
            try:
                await self.sync_config()
                await self.poll_due(on_report)
                soonest = min((f.next_poll_at for f in await self._store.feeds()), default=time.time() + delay)
                delay = min(max(soonest - time.time(), 0.2), delay)
            except Exception:  # the store or the engine failed: say so, and try again later
                log.exception("feed polling failed; trying again in %d s", delay)
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
