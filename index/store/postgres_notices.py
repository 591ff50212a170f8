"""New articles told to every process that shares the PostgreSQL database.

The writing transaction NOTIFYs (PostgreSQL delivers a notification at commit, and drops it
on rollback, so a notice always names committed articles); each process LISTENs on a
connection of its own and hands on what other processes added. Searches read the database,
so they see new articles at once; the notices are for what a process does about new
articles itself (posting them to the followers of a story).

LISTEN holds a session: its connection goes straight to PostgreSQL (or through a pooler in
session mode), never through PgBouncer in transaction mode (NEWSDESK_DATABASE_LISTEN_URL).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "newsdesk_articles"
# A notification's payload must stay under 8000 bytes: ids go a few hundred at a time.
IDS_PER_NOTICE = 400
RECONNECT_SECONDS = 2.0

OnAdded = Callable[[str, tuple[int, ...]], None]


async def announce(db: asyncpg.Connection, origin: str, added: Iterable[tuple[str, int]]) -> None:
    """NOTIFY the (scope, article id) pairs just written in `db`'s transaction, from the process `origin`."""
    by_scope: dict[str, list[int]] = defaultdict(list)
    for scope, article_id in added:
        by_scope[scope].append(article_id)
    for scope, ids in by_scope.items():
        for start in range(0, len(ids), IDS_PER_NOTICE):
            notice = {"origin": origin, "scope": scope, "ids": ids[start : start + IDS_PER_NOTICE]}
            await db.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(notice))


class ArticleNotices:
    """LISTENs for other processes' new articles and calls `on_added(scope, ids)` on the event loop.

    A lost connection is re-opened every RECONNECT_SECONDS; notices sent meanwhile are missed
    (what follows do about that: catch up from the last article matched, at start-up).
    """

    def __init__(self, dsn: str, origin: str, on_added: OnAdded) -> None:
        self._dsn = dsn
        self._origin = origin
        self._on_added = on_added
        self._connection: asyncpg.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        self._connection = await asyncpg.connect(self._dsn)
        self._connection.add_termination_listener(self._lost)
        await self._connection.add_listener(CHANNEL, self._heard)

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    def _heard(self, connection: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        notice = json.loads(payload)
        if notice["origin"] != self._origin:  # this process told its own listeners already
            self._on_added(notice["scope"], tuple(notice["ids"]))

    def _lost(self, connection: asyncpg.Connection) -> None:
        if not self._closed:
            log.warning("lost the connection that listens for new articles; reconnecting")
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        while not self._closed:
            await asyncio.sleep(RECONNECT_SECONDS)
            try:
                await self.start()
                return
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("cannot listen for new articles yet: %s", error)
