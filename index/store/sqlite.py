"""The SQLite store (the default backend): one database file, opened with aiosqlite.

Writes that belong together (an article, its passages, their embeddings) share one
transaction, so a crash leaves either all of them or none. Writes go through one
connection, one at a time, so a small write (a setting, a verdict) never lands inside
an upload's transaction and rolls back with it; reads go through another, which in WAL
mode sees only committed data.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable, Sequence

import aiosqlite
import numpy as np

from ..types import Article, ArticleText, Follow
from .base import NewArticle, PassageRow, SentenceVectors
from .sqlite_feeds import SqliteFeeds, _scope_clause

DB_NAME = "newsdesk.db"

# Each entry upgrades the schema by one version; PRAGMA user_version records how many ran.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        source TEXT,
        date TEXT,
        url TEXT,
        origin TEXT NOT NULL,
        text TEXT NOT NULL,
        added_at REAL NOT NULL,
        UNIQUE (scope, content_hash)
    );
    CREATE INDEX articles_scope ON articles (scope);
    CREATE TABLE passages (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        text_hash TEXT NOT NULL
    );
    CREATE INDEX passages_article ON passages (article_id);
    CREATE INDEX passages_text_hash ON passages (text_hash);
    CREATE TABLE sentences (
        passage_id INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        text_hash TEXT NOT NULL
    );
    CREATE INDEX sentences_passage ON sentences (passage_id);
    CREATE INDEX sentences_text_hash ON sentences (text_hash);
    CREATE TABLE embeddings (
        text_hash TEXT NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (text_hash, model)
    );
    """,
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        question TEXT NOT NULL,
        quotes TEXT NOT NULL,
        user_hash TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # The feedback salt is the bot's: it moves among the application's keys (`Engine.app_data`).
    "UPDATE meta SET key = 'app:feedback_salt' WHERE key = 'feedback_salt';",
    # Ids are never reused (a saved index checked by ids would take a new text for a removed one):
    # the last ids given out are kept, and every article write bumps the write generation that
    # saved indexes record.
    """
    INSERT INTO meta (key, value) SELECT 'last_article_id', COALESCE(MAX(id), 0) FROM articles;
    INSERT INTO meta (key, value) SELECT 'last_passage_id', COALESCE(MAX(id), 0) FROM passages;
    INSERT INTO meta (key, value) VALUES ('write_generation', '0');
    """,
    # Questions limited to a date range find their passages by the articles' dates; follows are
    # standing questions, and each article delivered for one is recorded so it goes out once.
    """
    CREATE INDEX articles_date ON articles (date);
    CREATE TABLE follows (
        id INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        scopes TEXT NOT NULL,
        topic TEXT NOT NULL,
        target TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX follows_owner ON follows (owner);
    CREATE TABLE follow_deliveries (
        follow_id INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL,
        delivered_at REAL NOT NULL,
        PRIMARY KEY (follow_id, article_id)
    );
    """,
    # Feeds (index/feeds/): a scope's subscriptions, and each entry taken in with the article it became
    # (their queries: `sqlite_feeds`).
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT,
        added_by TEXT NOT NULL,
        interval_seconds INTEGER,
        etag TEXT,
        last_modified TEXT,
        created_at REAL NOT NULL,
        last_polled_at REAL,
        last_success_at REAL,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at REAL NOT NULL,
        UNIQUE (scope, url)
    );
    CREATE TABLE feed_items (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        guid TEXT NOT NULL,
        url TEXT NOT NULL,
        entry_hash TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
        published TEXT,
        updated TEXT,
        first_seen REAL NOT NULL,
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX feed_items_url ON feed_items (url);
    CREATE INDEX feed_items_article ON feed_items (article_id);
    """,
)


_SET_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"

_ARTICLE_COLUMNS = (
    "a.id, a.scope, a.title, a.source, a.date, a.url, a.origin, a.added_at, "
    "(SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id)"
)


def _article(row: Sequence) -> Article:
    return Article(*row)


def _follow(row: Sequence) -> Follow:
    follow_id, owner, scopes, topic, target, created_at = row
    return Follow(follow_id, owner, tuple(json.loads(scopes)), topic, target, created_at)


_FOLLOW_COLUMNS = "id, owner, scopes, topic, target, created_at"


def _vector_batch(rows: Sequence[tuple[int, bytes | None]], model: str) -> tuple[np.ndarray, np.ndarray]:
    if any(blob is None for _, blob in rows):
        raise LookupError(f"passages have no embedding under {model}; re-embed them")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])


async def _connect(path: Path) -> aiosqlite.Connection:
    # Autocommit mode: transactions are opened explicitly, so they span exactly what belongs together.
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA foreign_keys=ON")
    await db.execute("PRAGMA synchronous=NORMAL")
    return db


async def _migrate(db: aiosqlite.Connection) -> None:
    (version,) = await (await db.execute("PRAGMA user_version")).fetchone()
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first; BEGIN makes the migration and its version one unit.
        await db.executescript(f"BEGIN; {script} PRAGMA user_version = {number}; COMMIT;")


class SqliteStore(SqliteFeeds):
    """An open database file. Create with `await SqliteStore.open(path)`."""

    def __init__(self, write: aiosqlite.Connection, read: aiosqlite.Connection, path: Path):
        self._db = write
        self._read = read
        self._write_lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> "SqliteStore":
        """Open (creating if needed) and migrate the database at path."""
        write = await _connect(path)
        try:
            await (await write.execute("PRAGMA journal_mode=WAL")).close()
            await _migrate(write)
            return cls(write, await _connect(path), path)
        except BaseException:
            await write.close()
            raise

    async def close(self) -> None:
        await self._read.close()
        await self._db.close()

    # One writer per data folder (writer_lock): no other process adds articles, and the one that
    # writes holds every lease.

    async def watch_added(self, on_added: Callable[[str, tuple[int, ...]], None]) -> None:
        return None

    async def take_lease(self, name: str, seconds: float) -> bool:
        return True

    async def drop_lease(self, name: str) -> None:
        return None

    @asynccontextmanager
    async def _transaction(self):
        """One write at a time on the write connection, committed whole or rolled back."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def describe(self) -> str:
        return f"SQLite ({self.path})"

    async def schema_version(self) -> int:
        (version,) = await (await self._read.execute("PRAGMA user_version")).fetchone()
        return version

    # --- settings kept with the data, and feedback ----------------------------------

    async def get_meta(self, key: str) -> str | None:
        row = await (await self._read.execute("SELECT value FROM meta WHERE key = ?", (key,))).fetchone()
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        async with self._transaction():
            await self._db.execute(_SET_META, (key, value))

    async def portable_meta(self) -> dict[str, str]:
        cursor = await self._read.execute(
            "SELECT key, value FROM meta WHERE key NOT IN ('last_article_id', 'last_passage_id', 'write_generation')"
        )
        return dict(await cursor.fetchall())

    async def write_generation(self) -> int:
        return int(await self.get_meta("write_generation"))

    async def _bump_generation(self) -> None:
        await self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'write_generation'")

    async def add_feedback(self, question: str, quotes_json: str, rater: str, helpful: bool) -> None:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO feedback (question, quotes, user_hash, helpful, created_at) VALUES (?, ?, ?, ?, ?)",
                (question, quotes_json, rater, int(helpful), time.time()),
            )

    # --- articles ----------------------------------------------------------------

    async def has_article(self, scope: str, content_hash: str) -> bool:
        row = await (
            await self._read.execute("SELECT 1 FROM articles WHERE scope = ? AND content_hash = ?", (scope, content_hash))
        ).fetchone()
        return row is not None

    async def known_embeddings(self, text_hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
        """Stored vectors for those texts under that model, so nothing is embedded twice."""
        hashes = list(set(text_hashes))
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            cursor = await self._read.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({','.join('?' * len(chunk))})",
                (model, *chunk),
            )
            for text_hash, blob in await cursor.fetchall():
                found[text_hash] = np.frombuffer(blob, dtype=np.float32)
        return found

    async def _last_id(self, key: str) -> int:
        (value,) = await (await self._db.execute("SELECT value FROM meta WHERE key = ?", (key,))).fetchone()
        return int(value)

    async def add_articles(
        self, articles: Sequence[NewArticle], model: str, new_vectors: dict[str, np.ndarray]
    ) -> list[tuple[int, list[int]] | None]:
        """Store articles with their passages and new embeddings in one transaction, all or nothing.

        Rows get explicit ids, counted on from the last ones given out so that a removed
        article's ids never come back (the write lock is held from the first read); a batch
        costs a handful of statements however many articles it holds.

        Returns:
            Per article, (article id, passage ids), or None if its scope already holds
            that content (or an earlier article of the batch had the same content).
        """
        async with self._transaction():
            taken = set()
            for scope in {a.scope for a in articles}:
                hashes = [a.content_hash for a in articles if a.scope == scope]
                for i in range(0, len(hashes), 500):
                    chunk = hashes[i : i + 500]
                    cursor = await self._db.execute(
                        f"SELECT content_hash FROM articles WHERE scope = ? AND content_hash IN ({','.join('?' * len(chunk))})",
                        (scope, *chunk),
                    )
                    taken.update((scope, h) for (h,) in await cursor.fetchall())
            last_article = await self._last_id("last_article_id")
            last_passage = await self._last_id("last_passage_id")
            results: list[tuple[int, list[int]] | None] = []
            article_rows, passage_rows, sentence_rows = [], [], []
            now = time.time()
            for a in articles:
                if (a.scope, a.content_hash) in taken:
                    results.append(None)
                    continue
                taken.add((a.scope, a.content_hash))
                article_id = a.id or last_article + 1  # an id of its own when copied from another store
                last_article = max(last_article, article_id)
                article_rows.append(
                    (article_id, a.scope, a.content_hash, a.title, a.source, a.date, a.url, a.origin, a.text, a.added_at or now)
                )
                passage_ids = []
                for p in a.passages:
                    passage_id = p.id or last_passage + 1
                    last_passage = max(last_passage, passage_id)
                    passage_ids.append(passage_id)
                    passage_rows.append((passage_id, article_id, p.ordinal, p.start, p.end, p.text_hash))
                    sentence_rows.extend((passage_id, s.start, s.end, s.text_hash) for s in p.sentences)
                results.append((article_id, passage_ids))
            await self._db.executemany(
                "INSERT INTO articles (id, scope, content_hash, title, source, date, url, origin, text, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                article_rows,
            )
            await self._db.executemany(
                "INSERT INTO passages (id, article_id, ordinal, start, end, text_hash) VALUES (?, ?, ?, ?, ?, ?)",
                passage_rows,
            )
            await self._db.executemany(
                "INSERT INTO sentences (passage_id, start, end, text_hash) VALUES (?, ?, ?, ?)", sentence_rows
            )
            await self._insert_embeddings(model, new_vectors)
            if article_rows:
                await self._db.executemany(
                    _SET_META, [("last_article_id", str(last_article)), ("last_passage_id", str(last_passage))]
                )
                await self._bump_generation()
        return results

    async def remove_article(self, article_id: int, scopes: Iterable[str] | None = None) -> list[int] | None:
        """Delete an article (if within scopes) and its passages.

        Embeddings no longer used by any passage go too.

        Returns:
            The removed passage ids, or None if there was no such article in scope.
        """
        clause, params = _scope_clause(scopes, "scope")
        async with self._transaction():
            row = await (
                await self._db.execute(f"SELECT id FROM articles WHERE id = ? AND {clause}", (article_id, *params))
            ).fetchone()
            if row is None:
                return None
            cursor = await self._db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))
            passage_ids = [r[0] for r in await cursor.fetchall()]
            await self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            await self._bump_generation()
            await self._db.execute(
                "DELETE FROM embeddings WHERE text_hash NOT IN (SELECT text_hash FROM passages) "
                "AND text_hash NOT IN (SELECT text_hash FROM sentences)"
            )
        return passage_ids

    async def article(self, article_id: int, scopes: Iterable[str] | None = None) -> ArticleText | None:
        """An article and its full text, if it exists within scopes."""
        clause, params = _scope_clause(scopes)
        row = await (
            await self._read.execute(
                f"SELECT {_ARTICLE_COLUMNS}, a.text FROM articles a WHERE a.id = ? AND {clause}", (article_id, *params)
            )
        ).fetchone()
        return ArticleText(_article(row[:-1]), row[-1]) if row else None

    async def articles(
        self, scopes: Iterable[str] | None = None, title_like: str | None = None, limit: int | None = None
    ) -> list[Article]:
        """Articles within scopes, newest first, with their passage counts."""
        clause, params = _scope_clause(scopes)
        if title_like:
            clause += " AND a.title LIKE ? ESCAPE '\\'"
            escaped = title_like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        sql = f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE {clause} ORDER BY a.date IS NULL, a.date DESC, a.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        cursor = await self._read.execute(sql, params)
        return [_article(row) for row in await cursor.fetchall()]

    async def last_added(self, scopes: Iterable[str] | None = None) -> Article | None:
        clause, params = _scope_clause(scopes)
        row = await (
            await self._read.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE {clause} ORDER BY a.added_at DESC, a.id DESC LIMIT 1",
                params,
            )
        ).fetchone()
        return _article(row) if row else None

    async def articles_by_id(self, article_ids: Iterable[int]) -> dict[int, Article]:
        ids = list(set(article_ids))
        if not ids:
            return {}
        cursor = await self._read.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id IN ({','.join('?' * len(ids))})", ids
        )
        return {row[0]: _article(row) for row in await cursor.fetchall()}

    async def article_texts(self, article_ids: Iterable[int]) -> dict[int, str]:
        ids = list(set(article_ids))
        if not ids:
            return {}
        cursor = await self._read.execute(f"SELECT id, text FROM articles WHERE id IN ({','.join('?' * len(ids))})", ids)
        return dict(await cursor.fetchall())

    # --- passages ----------------------------------------------------------------

    async def passages(self, passage_ids: Iterable[int] | None = None) -> list[PassageRow]:
        """Passages with their text (sliced from the article) and scope; all when ids is None."""
        sql = (
            "SELECT p.id, p.article_id, p.start, p.end, substr(a.text, p.start + 1, p.end - p.start), a.scope "
            "FROM passages p JOIN articles a ON a.id = p.article_id"
        )
        if passage_ids is None:
            cursor = await self._read.execute(sql + " ORDER BY p.id")
            return [PassageRow(*row) for row in await cursor.fetchall()]
        ids = list(set(passage_ids))
        rows: list[PassageRow] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cursor = await self._read.execute(sql + f" WHERE p.id IN ({','.join('?' * len(chunk))})", chunk)
            rows.extend(PassageRow(*row) for row in await cursor.fetchall())
        return rows

    async def passage_scopes(self) -> dict[str, np.ndarray]:
        """Every passage id, ascending, grouped by its article's scope (no text: cheap at start-up)."""
        cursor = await self._read.execute("SELECT DISTINCT scope FROM articles")
        groups = {}
        for (scope,) in await cursor.fetchall():
            cursor = await self._read.execute(
                "SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE a.scope = ? ORDER BY p.id",
                (scope,),
            )
            rows = await cursor.fetchall()
            groups[scope] = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return groups

    async def passage_vectors(
        self, model: str, passage_ids: Iterable[int] | None = None, batch: int = 20_000
    ) -> AsyncIterator[tuple[np.ndarray, np.ndarray]]:
        """Passage ids with their stored vectors under model, a batch at a time (all passages if ids is None).

        Batches keep memory flat while a large index is rebuilt.

        Raises:
            LookupError: some passage has no vector for this model (re-embed needed).
        """
        sql = (
            "SELECT p.id, e.vector FROM passages p LEFT JOIN embeddings e "
            "ON e.text_hash = p.text_hash AND e.model = ?"
        )
        if passage_ids is None:
            cursor = await self._read.execute(sql + " ORDER BY p.id", (model,))
            while rows := await cursor.fetchmany(batch):
                yield _vector_batch(rows, model)
            return
        ids = sorted({int(i) for i in passage_ids})  # numpy integers would bind as blobs
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cursor = await self._read.execute(sql + f" WHERE p.id IN ({','.join('?' * len(chunk))})", (model, *chunk))
            yield _vector_batch(await cursor.fetchall(), model)

    async def texts_missing_embedding(self, model: str) -> list[tuple[str, str]]:
        """(text_hash, text) for every passage and sentence text without a vector under model."""
        missing = []
        for table, join in (("passages", "p.article_id"), ("sentences", "(SELECT article_id FROM passages WHERE id = p.passage_id)")):
            cursor = await self._read.execute(
                f"SELECT p.text_hash, substr(a.text, p.start + 1, p.end - p.start) FROM {table} p "
                f"JOIN articles a ON a.id = {join} "
                "WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = p.text_hash AND e.model = ?) "
                "GROUP BY p.text_hash",
                (model,),
            )
            missing.extend(await cursor.fetchall())
        return list(dict(missing).items())

    async def sentence_vectors(self, passage_ids: Iterable[int], model: str) -> dict[int, SentenceVectors]:
        """The sentences of some passages with their stored vectors (passages without any are left out)."""
        ids = list(set(passage_ids))
        if not ids:
            return {}
        cursor = await self._read.execute(
            "SELECT s.passage_id, s.start, s.end, e.vector FROM sentences s "
            "JOIN embeddings e ON e.text_hash = s.text_hash AND e.model = ? "
            f"WHERE s.passage_id IN ({','.join('?' * len(ids))}) ORDER BY s.passage_id, s.start",
            (model, *ids),
        )
        grouped: dict[int, list[tuple[int, int, bytes]]] = {}
        for pid, start, end, blob in await cursor.fetchall():
            grouped.setdefault(pid, []).append((start, end, blob))
        return {
            pid: SentenceVectors(
                [(start, end) for start, end, _ in rows],
                np.frombuffer(b"".join(blob for _, _, blob in rows), dtype=np.float32).reshape(len(rows), -1),
            )
            for pid, rows in grouped.items()
        }

    async def _insert_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        await self._db.executemany(
            "INSERT OR IGNORE INTO embeddings (text_hash, model, vector) VALUES (?, ?, ?)",
            [(h, model, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
        )

    async def add_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        async with self._transaction():
            await self._insert_embeddings(model, vectors)

    async def drop_embeddings_except(self, model: str) -> None:
        async with self._transaction():
            await self._db.execute("DELETE FROM embeddings WHERE model != ?", (model,))

    async def counts(self, scopes: Iterable[str] | None = None) -> tuple[int, int]:
        """(articles, passages) within scopes."""
        clause, params = _scope_clause(scopes)
        (articles,) = await (await self._read.execute(f"SELECT COUNT(*) FROM articles a WHERE {clause}", params)).fetchone()
        (passages,) = await (
            await self._read.execute(
                f"SELECT COUNT(*) FROM passages p JOIN articles a ON a.id = p.article_id WHERE {clause}", params
            )
        ).fetchone()
        return articles, passages

    async def usage(self, scope: str) -> tuple[int, int]:
        row = await self._read.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM articles WHERE scope = ?", (scope,)
        )
        articles, text_bytes = await row.fetchone()
        return articles, text_bytes

    async def passage_ids_of(
        self,
        article_ids: Iterable[int] | None = None,
        dated_from: str | None = None,
        dated_before: str | None = None,
    ) -> np.ndarray:
        """Passage ids, ascending, of those articles (None: any) dated within [dated_from, dated_before).

        Dates compare as text: `YYYY-MM-DD` and ISO times sort as the days they start with.
        """
        sql = (
            "SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id "
            "WHERE (? IS NULL OR a.date >= ?) AND (? IS NULL OR a.date < ?)"
        )
        params: list = [dated_from, dated_from, dated_before, dated_before]
        if article_ids is not None:
            ids = [int(i) for i in set(article_ids)]
            sql += f" AND a.id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        cursor = await self._read.execute(sql + " ORDER BY p.id", params)
        rows = await cursor.fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    async def articles_after(self, article_id: int) -> dict[str, list[int]]:
        cursor = await self._read.execute("SELECT scope, id FROM articles WHERE id > ? ORDER BY id", (article_id,))
        found: dict[str, list[int]] = {}
        for scope, found_id in await cursor.fetchall():
            found.setdefault(scope, []).append(found_id)
        return found

    # --- follows ---------------------------------------------------------------------

    async def add_follow(self, owner: str, scopes: Sequence[str], topic: str, target: str) -> Follow:
        now = time.time()
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT INTO follows (owner, scopes, topic, target, created_at) VALUES (?, ?, ?, ?, ?)",
                (owner, json.dumps(list(scopes)), topic, target, now),
            )
        return Follow(cursor.lastrowid, owner, tuple(scopes), topic, target, now)

    async def follows(self, owner: str | None = None) -> list[Follow]:
        cursor = await self._read.execute(
            f"SELECT {_FOLLOW_COLUMNS} FROM follows WHERE ? IS NULL OR owner = ? ORDER BY id", (owner, owner)
        )
        return [_follow(row) for row in await cursor.fetchall()]

    async def remove_follow(self, follow_id: int, owner: str) -> Follow | None:
        async with self._transaction():
            row = await (
                await self._db.execute(
                    f"SELECT {_FOLLOW_COLUMNS} FROM follows WHERE id = ? AND owner = ?", (follow_id, owner)
                )
            ).fetchone()
            if row is not None:
                await self._db.execute("DELETE FROM follows WHERE id = ?", (follow_id,))
        return _follow(row) if row else None

    async def claim_delivery(self, follow_id: int, article_id: int) -> bool:
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO follow_deliveries (follow_id, article_id, delivered_at) "
                "SELECT id, ?, ? FROM follows WHERE id = ?",
                (article_id, time.time(), follow_id),
            )
            return cursor.rowcount == 1
