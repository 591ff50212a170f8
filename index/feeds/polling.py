"""One poll of one feed: fetch (conditionally), parse, take new and changed entries in, and reschedule.

Entries become articles through the engine's ordinary ingest (`IngestPort.ingest_document`, which `Engine` serves; one
jsonl document per poll), so they are split, embedded and indexed like any upload, and a
question never waits on them. An entry whose text changed replaces its earlier article; an
unchanged one is not fetched again. Every outcome, good or bad, is saved on the feed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field, replace

from yarl import URL

from ..ingest.writer import content_hash
from ..settings import FeedSettings
from ..store import FeedItemRow, FeedRow, FeedStore
from ..ingest.untrusted import clean_name
from .ingest_port import IngestPort
from .fetching import Fetcher, FetchError
from .items import EntryProblem, ItemDraft, build_item, entry_identity, entry_label
from .parsing import FeedEntry, FeedError, ParsedFeed, parse_feed


log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.1"
)
# How many entry problems a feed's last error spells out.
_PROBLEMS_SHOWN = 3
_OLDEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass
class PollReport:
    """What one poll of a feed did."""

    feed_id: int
    url: str
    title: str | None = None
    not_modified: bool = False
    added: list[str] = field(default_factory=list)  # titles
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0  # new entries whose text was already stored in the scope
    problems: list[str] = field(default_factory=list)  # entries skipped, and why
    limited: str | None = None  # the feed holds more items than a poll takes: which were left
    error: str | None = None  # the whole poll failed

    @property
    def summary(self) -> str | None:
        """The feed's "last error": why the poll failed, or which entries were skipped or left."""
        if self.error:
            return self.error
        if not self.problems:
            return self.limited
        shown = "; ".join(self.problems[:_PROBLEMS_SHOWN])
        more = len(self.problems) - _PROBLEMS_SHOWN
        return "; ".join(filter(None, [self.limited, shown + (f" (and {more} more)" if more > 0 else "")]))


def items_limit_note(items: int, settings: FeedSettings) -> str | None:
    """What a poll leaves of a feed of so many items (None if it takes them all)."""
    limit = settings.max_items_per_poll
    if items <= limit:
        return None
    return (
        f"the feed holds {items:,} items: only the newest {limit:,} are taken "
        f"([feeds] max_items_per_poll = {limit}), the {items - limit:,} older ones are dropped"
    )


def newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Entries by date, newest first; undated ones last, in the feed's order."""
    return sorted(entries, key=lambda e: e.published or e.updated or _OLDEST, reverse=True)


def next_poll(feed: FeedRow, settings: FeedSettings, now: float, failed: bool, retry_after: float | None) -> float:
    """When to poll a feed next: its interval after a success; after failures, doubling up to max_backoff_seconds.

    A server's Retry-After is honoured (up to max_backoff_seconds away).
    """
    interval = feed.interval_seconds or settings.poll_seconds
    if not failed:
        return now + interval
    delay = min(interval * 2 ** min(feed.failures, 30), settings.max_backoff_seconds)
    if retry_after:
        delay = max(delay, min(retry_after - now, settings.max_backoff_seconds))
    return now + max(delay, interval)


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


class FeedPoller:
    """Polls feeds into the engine; one instance per engine (it owns the HTTP session)."""

    def __init__(self, articles: IngestPort, store: FeedStore, settings: FeedSettings):
        self._articles = articles
        self._store = store
        self._settings = settings
        self._fetcher: Fetcher | None = None
        self._scope_locks: dict[str, asyncio.Lock] = {}

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:  # made on first use, inside the running loop
            self._fetcher = Fetcher(self._settings)
        return self._fetcher

    async def close(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.close()
            self._fetcher = None

    async def fetch_feed(self, url: str, feed: FeedRow | None = None):
        """Fetch and parse a feed: (response, parsed feed, or None when not modified since the feed's last poll).

        Raises:
            FetchError, FeedError: why not.
        """
        headers = {"Accept": FEED_ACCEPT}
        if feed and feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed and feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        fetched = await self.fetcher.get(url, self._settings.max_feed_bytes, headers)
        if fetched.status == 304:
            return fetched, None
        try:
            parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.content_type, fetched.charset)
        except FeedError:
            raise
        except Exception as exc:  # a parser's bug: one line for whoever adds or polls the feed, the traceback in the log
            log.exception("feed %s: parsing failed", url)
            raise FeedError(f"the feed could not be read (internal error: {exc.__class__.__name__}); see the log") from None
        return fetched, parsed

    async def poll(self, feed: FeedRow) -> PollReport:
        """Poll one feed now and save the outcome on it; never raises for what the server sends."""
        report = PollReport(feed.id, feed.url, feed.title)
        now = time.time()
        retry_after = None
        etag, last_modified = feed.etag, feed.last_modified
        try:
            fetched, parsed = await self.fetch_feed(feed.url, feed)
            report.not_modified = parsed is None
            if parsed is not None:
                report.title = parsed.title or feed.title
                await self._take_in(feed, parsed, report)
                etag, last_modified = fetched.headers.get("ETag"), fetched.headers.get("Last-Modified")
        except (FetchError, FeedError) as exc:
            report.error = str(exc)
            retry_after = getattr(exc, "retry_after", None)
        except Exception as exc:  # a bug must not stop the other feeds, or the bot
            log.exception("feed %s: poll failed", feed.url)
            report.error = f"internal error ({exc.__class__.__name__}); see the log"
        failed = report.error is not None
        if failed:
            log.warning("feed %s: %s", feed.url, report.error)
        saved = replace(
            feed,
            title=report.title,
            etag=etag,
            last_modified=last_modified,
            last_polled_at=now,
            last_success_at=feed.last_success_at if failed else now,
            last_error=report.summary,
            failures=feed.failures + 1 if failed else 0,
            next_poll_at=next_poll(feed, self._settings, now, failed, retry_after),
        )
        await self._store.update_feed(saved)
        return report

    async def _take_in(self, feed: FeedRow, parsed: ParsedFeed, report: PollReport) -> None:
        # Feeds of one scope take entries in one at a time, so two feeds linking one url store it once.
        async with self.scope_lock(feed.scope):
            await self._take_in_entries(feed, parsed, report)

    def scope_lock(self, scope: str) -> asyncio.Lock:
        """Held while a scope's entries are taken in (and while one of its feeds is removed)."""
        return self._scope_locks.setdefault(scope, asyncio.Lock())

    async def _take_in_entries(self, feed: FeedRow, parsed: ParsedFeed, report: PollReport) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        source = clean_name(parsed.title or feed.title) or _host(feed.url)
        # The newest items only: a poll's page fetches, lookups and ingest are bounded whatever the feed holds.
        report.limited = items_limit_note(len(parsed.entries), self._settings)
        entries = newest_first(parsed.entries)[: self._settings.max_items_per_poll]
        pending: list[tuple[FeedEntry, tuple[str, str, str], FeedItemRow | None]] = []
        seen: set[str] = set()
        for entry in entries:
            try:
                identity = entry_identity(entry, now, feed.url)
            except Exception as exc:
                report.problems.append(_entry_problem(entry, exc))
                continue
            guid, url, entry_hash = identity
            if guid in seen:
                continue
            seen.add(guid)
            previous = await self._store.find_feed_item(feed.id, feed.scope, guid, url)
            if previous and previous.feed_id != feed.id:
                # another feed of the scope brought this url: one article, kept up to date by that feed
                await self._store.save_feed_item(replace(previous, id=None, feed_id=feed.id, guid=guid, entry_hash=entry_hash))
                report.duplicates += 1
            elif previous and previous.entry_hash == entry_hash:
                report.unchanged += 1
            else:
                pending.append((entry, identity, previous))
        page_fetches = asyncio.Semaphore(self._settings.page_fetches_at_once)
        built = await asyncio.gather(
            *(self._build(entry, identity, source, page_fetches) for entry, identity, _ in pending)
        )
        changes: list[tuple[ItemDraft, str, FeedItemRow | None]] = []
        for (_, _, previous), draft in zip(pending, built):
            if isinstance(draft, str):
                report.problems.append(draft)
                continue
            digest = content_hash(draft.text)
            if previous and previous.content_hash == digest:  # the entry changed, not its article
                await self._save_item(feed, draft, digest, previous.article_id, previous)
                report.unchanged += 1
                continue
            changes.append((draft, digest, previous))
        if changes:
            await self._ingest(feed, changes, report)

    async def _build(
        self, entry: FeedEntry, identity: tuple[str, str, str], source: str, page_fetches: asyncio.Semaphore
    ) -> ItemDraft | str:
        """The entry's article, or why it is skipped."""
        try:
            return await build_item(entry, identity, source, self.fetcher, self._settings.max_page_bytes, page_fetches)
        except Exception as exc:
            return _entry_problem(entry, exc)

    async def _ingest(self, feed: FeedRow, changes: list[tuple[ItemDraft, str, FeedItemRow | None]], report: PollReport) -> None:
        document = "".join(draft.jsonl_line() for draft, _, _ in changes).encode("utf-8")
        ingested = await self._articles.ingest_document(document, f"feed-{feed.id}.jsonl", feed.scope, strict=False)
        report.problems.extend(str(problem) for problem in ingested.problems)
        stored = await self._store.article_ids_by_content(feed.scope, (digest for _, digest, _ in changes))
        for draft, digest, previous in changes:
            article_id = stored.get(digest)
            if article_id is None:  # refused by ingest: its problem is reported
                continue
            if previous and previous.article_id not in (None, article_id):
                # the new version is stored before the old goes, so a crash between loses neither
                await self._articles.remove(previous.article_id, [feed.scope])
            await self._save_item(feed, draft, digest, article_id, previous)
            if previous:
                report.updated.append(draft.title or draft.url)
            elif article_id in ingested.article_ids:
                report.added.append(draft.title or draft.url)
            else:
                report.duplicates += 1

    async def _save_item(
        self, feed: FeedRow, draft: ItemDraft, digest: str, article_id: int | None, previous: FeedItemRow | None
    ) -> None:
        await self._store.save_feed_item(
            FeedItemRow(
                previous.id if previous else None, feed.id, draft.guid, draft.url, draft.entry_hash, digest, article_id,
                _iso(draft.published), _iso(draft.updated),
            )
        )


def _entry_problem(entry: FeedEntry, exc: Exception) -> str:
    """Why an entry is skipped, in one line: a failure in one entry is that entry's alone."""
    if isinstance(exc, EntryProblem):
        return str(exc)
    # a bug, or input no check foresaw: the log has the traceback, the feed the entry and the error's kind
    log.error("feed entry %s could not be taken in", entry_label(entry), exc_info=exc)
    return f"entry {entry_label(entry)} could not be taken in (internal error: {exc.__class__.__name__})"


def _host(url: str) -> str:
    return URL(url).host or url
