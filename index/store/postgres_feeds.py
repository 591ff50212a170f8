"""The PostgreSQL store's feeds: subscribed feeds and the entries taken from them (a `base.FeedStore`).

The same records as the SQLite store's; `PostgresStore` includes it. Under Citus both tables
are keyed by feed id (feed_items co-located with their feed).
"""

from __future__ import annotations

import time
from typing import Iterable

import asyncpg

from .base import FeedItemRow, FeedRow

# Scopes as $1, NULL for every scope.
_FEEDS_IN_SCOPES = (
    "SELECT f.id, f.scope, f.url, f.title, f.added_by, f.interval_seconds, f.etag, f.last_modified, f.created_at, "
    "f.last_polled_at, f.last_success_at, f.last_error, f.failures, f.next_poll_at, "
    "(SELECT COUNT(DISTINCT i.article_id) FROM feed_items i WHERE i.feed_id = f.id) "
    "FROM feeds f WHERE ($1::TEXT[] IS NULL OR f.scope = ANY($1::TEXT[]))"
)
_FEED_ITEMS = "SELECT id, feed_id, guid, url, entry_hash, content_hash, article_id, published, updated FROM feed_items"


class PostgresFeeds:
    """Feeds in PostgreSQL, through the store's pool."""

    pool: asyncpg.Pool

    async def add_feed(
        self, scope: str, url: str, added_by: str, interval_seconds: int | None, title: str | None
    ) -> FeedRow | None:
        now = time.time()
        feed_id = await self.pool.fetchval(
            "INSERT INTO feeds (scope, url, title, added_by, interval_seconds, created_at, next_poll_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (scope, url) DO NOTHING RETURNING id",
            scope, url, title, added_by, interval_seconds, now,
        )
        return None if feed_id is None else await self.feed(feed_id)

    async def feeds(self, scopes: Iterable[str] | None = None) -> list[FeedRow]:
        rows = await self.pool.fetch(_FEEDS_IN_SCOPES + " ORDER BY f.id", None if scopes is None else list(scopes))
        return [FeedRow(*row) for row in rows]

    async def feed(self, feed_id: int, scopes: Iterable[str] | None = None) -> FeedRow | None:
        row = await self.pool.fetchrow(_FEEDS_IN_SCOPES + " AND f.id = $2", None if scopes is None else list(scopes), feed_id)
        return FeedRow(*row) if row else None

    async def due_feeds(self, now: float) -> list[FeedRow]:
        rows = await self.pool.fetch(_FEEDS_IN_SCOPES + " AND f.next_poll_at <= $2 ORDER BY f.id", None, now)
        return [FeedRow(*row) for row in rows]

    async def update_feed(self, feed: FeedRow) -> None:
        await self.pool.execute(
            "UPDATE feeds SET title = $1, etag = $2, last_modified = $3, last_polled_at = $4, last_success_at = $5, "
            "last_error = $6, failures = $7, next_poll_at = $8 WHERE id = $9",
            *feed.poll_values(),
        )

    async def remove_feed(self, feed_id: int) -> bool:
        return await self.pool.fetchval("DELETE FROM feeds WHERE id = $1 RETURNING TRUE", feed_id) is not None

    async def find_feed_item(self, feed_id: int, scope: str, guid: str, url: str) -> FeedItemRow | None:
        row = await self.pool.fetchrow(
            _FEED_ITEMS + " WHERE (feed_id = $1 AND guid = $2) OR (url = $3 AND feed_id IN (SELECT id FROM feeds WHERE scope = $4)) "
            "ORDER BY (feed_id = $1 AND guid = $2) DESC, (feed_id = $1) DESC, id DESC LIMIT 1",
            feed_id, guid, url, scope,
        )
        return FeedItemRow(*row) if row else None

    async def save_feed_item(self, item: FeedItemRow) -> None:
        values = item.values()
        if item.id is None:
            await self.pool.execute(
                "INSERT INTO feed_items (feed_id, guid, url, entry_hash, content_hash, article_id, published, "
                "updated, first_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                *values, time.time(),
            )
        else:
            await self.pool.execute(
                "UPDATE feed_items SET feed_id = $1, guid = $2, url = $3, entry_hash = $4, content_hash = $5, "
                "article_id = $6, published = $7, updated = $8 WHERE id = $9",
                *values, item.id,
            )

    async def article_ids_by_content(self, scope: str, content_hashes: Iterable[str]) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT content_hash, id FROM articles WHERE scope = $1 AND content_hash = ANY($2::TEXT[])",
            scope, list(set(content_hashes)),
        )
        return dict(rows)

    async def feed_article_ids(self, feed_id: int) -> list[int]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT article_id FROM feed_items WHERE feed_id = $1 AND article_id IS NOT NULL "
            "AND article_id NOT IN (SELECT article_id FROM feed_items WHERE feed_id != $1 AND article_id IS NOT NULL)",
            feed_id,
        )
        return [row[0] for row in rows]

    async def feed_article_ids_before(self, cutoff_iso: str) -> list[int]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT article_id FROM feed_items WHERE article_id IS NOT NULL AND COALESCE(published, updated, "
            "to_char(to_timestamp(first_seen) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')) < $1 COLLATE \"C\"",
            cutoff_iso,
        )
        return [row[0] for row in rows]
