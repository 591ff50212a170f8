"""The SQLite store's feeds: subscribed feeds and the entries taken from them (a `base.FeedStore`).

The same records as the PostgreSQL store's (`postgres_feeds`); `SqliteStore` includes it.
"""

from __future__ import annotations

import time
from typing import AsyncContextManager, Callable, Iterable

import aiosqlite

from .base import FeedItemRow, FeedRow

_FEED_COLUMNS = (
    "f.id, f.scope, f.url, f.title, f.added_by, f.interval_seconds, f.etag, f.last_modified, f.created_at, "
    "f.last_polled_at, f.last_success_at, f.last_error, f.failures, f.next_poll_at, "
    "(SELECT COUNT(DISTINCT i.article_id) FROM feed_items i WHERE i.feed_id = f.id)"
)
_FEED_ITEM_COLUMNS = "id, feed_id, guid, url, entry_hash, content_hash, article_id, published, updated"


def _scope_clause(scopes: Iterable[str] | None, column: str = "a.scope") -> tuple[str, list[str]]:
    """A WHERE clause keeping rows of scopes (None: every scope), with its parameters; the store's queries use it too."""
    if scopes is None:
        return "1", []
    scopes = list(scopes)
    return f"{column} IN ({','.join('?' * len(scopes))})", scopes


class SqliteFeeds:
    """Feeds in SQLite, through the store's connections: writes in its transactions, reads on its read connection."""

    _db: aiosqlite.Connection
    _read: aiosqlite.Connection
    _transaction: Callable[[], AsyncContextManager[None]]

    async def add_feed(
        self, scope: str, url: str, added_by: str, interval_seconds: int | None, title: str | None
    ) -> FeedRow | None:
        now = time.time()
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT INTO feeds (scope, url, title, added_by, interval_seconds, created_at, next_poll_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, url) DO NOTHING",
                (scope, url, title, added_by, interval_seconds, now, now),
            )
            feed_id = cursor.lastrowid if cursor.rowcount else None
        return None if feed_id is None else await self.feed(feed_id)

    async def feeds(self, scopes: Iterable[str] | None = None) -> list[FeedRow]:
        clause, params = _scope_clause(scopes, "f.scope")
        cursor = await self._read.execute(f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE {clause} ORDER BY f.id", params)
        return [FeedRow(*row) for row in await cursor.fetchall()]

    async def feed(self, feed_id: int, scopes: Iterable[str] | None = None) -> FeedRow | None:
        clause, params = _scope_clause(scopes, "f.scope")
        cursor = await self._read.execute(f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE f.id = ? AND {clause}", (feed_id, *params))
        row = await cursor.fetchone()
        return FeedRow(*row) if row else None

    async def due_feeds(self, now: float) -> list[FeedRow]:
        cursor = await self._read.execute(f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE f.next_poll_at <= ? ORDER BY f.id", (now,))
        return [FeedRow(*row) for row in await cursor.fetchall()]

    async def update_feed(self, feed: FeedRow) -> None:
        async with self._transaction():
            await self._db.execute(
                "UPDATE feeds SET title = ?, etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?, "
                "last_error = ?, failures = ?, next_poll_at = ? WHERE id = ?",
                feed.poll_values(),
            )

    async def remove_feed(self, feed_id: int) -> bool:
        async with self._transaction():
            cursor = await self._db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            return cursor.rowcount > 0

    async def find_feed_item(self, feed_id: int, scope: str, guid: str, url: str) -> FeedItemRow | None:
        row = await (
            await self._read.execute(
                f"SELECT {_FEED_ITEM_COLUMNS} FROM feed_items WHERE (feed_id = ? AND guid = ?) "
                "OR (url = ? AND feed_id IN (SELECT id FROM feeds WHERE scope = ?)) "
                "ORDER BY (feed_id = ? AND guid = ?) DESC, (feed_id = ?) DESC, id DESC LIMIT 1",
                (feed_id, guid, url, scope, feed_id, guid, feed_id),
            )
        ).fetchone()
        return FeedItemRow(*row) if row else None

    async def save_feed_item(self, item: FeedItemRow) -> None:
        values = item.values()
        async with self._transaction():
            if item.id is None:
                await self._db.execute(
                    "INSERT INTO feed_items (feed_id, guid, url, entry_hash, content_hash, article_id, published, "
                    "updated, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, time.time()),
                )
            else:
                await self._db.execute(
                    "UPDATE feed_items SET feed_id = ?, guid = ?, url = ?, entry_hash = ?, content_hash = ?, "
                    "article_id = ?, published = ?, updated = ? WHERE id = ?",
                    (*values, item.id),
                )

    async def article_ids_by_content(self, scope: str, content_hashes: Iterable[str]) -> dict[str, int]:
        hashes = list(set(content_hashes))
        found: dict[str, int] = {}
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            cursor = await self._read.execute(
                f"SELECT content_hash, id FROM articles WHERE scope = ? AND content_hash IN ({','.join('?' * len(chunk))})",
                (scope, *chunk),
            )
            found.update(await cursor.fetchall())
        return found

    async def feed_article_ids(self, feed_id: int) -> list[int]:
        cursor = await self._read.execute(
            "SELECT DISTINCT article_id FROM feed_items WHERE feed_id = ? AND article_id IS NOT NULL "
            "AND article_id NOT IN (SELECT article_id FROM feed_items WHERE feed_id != ? AND article_id IS NOT NULL)",
            (feed_id, feed_id),
        )
        return [row[0] for row in await cursor.fetchall()]

    async def feed_article_ids_before(self, cutoff_iso: str) -> list[int]:
        cursor = await self._read.execute(
            "SELECT DISTINCT article_id FROM feed_items WHERE article_id IS NOT NULL "
            "AND COALESCE(published, updated, strftime('%Y-%m-%dT%H:%M:%S+00:00', first_seen, 'unixepoch')) < ?",
            (cutoff_iso,),
        )
        return [row[0] for row in await cursor.fetchall()]
