"""The PostgreSQL store (`[storage] backend = "postgres"`): one database that many processes share.

The DSN comes from the environment (NEWSDESK_DATABASE_URL) only, never from a file, and
is never logged. asyncpg talks to it through a pool: every write is a transaction on a
connection of its own, so a small write never lands inside an upload's transaction, and
reads see only committed data. Migrations run once, under an advisory lock, whichever
process gets there first.

Besides what the SQLite store keeps, each passage row carries what the database needs to
search it (`postgres_search`): its scope, its vector under the store's model (pgvector,
searched through an HNSW index) and its words as the keyword index's tokenizer makes them
(a tsvector with a GIN index, whose positions count each word). Document frequencies and
totals for BM25 are kept up to date in the same transaction as the passages.

Running on Citus (distribution keys, and why):
- articles, passages, sentences: by article id (`articles.id`, `article_id`), co-located.
  Global feeds make most passages global, and every server's question reads them: keyed by
  scope, they would all sit on one shard, which would do every question's work. Keyed by
  article, they spread over every worker, an article and its passages are written in one
  single-shard transaction, and a question's searches run on every shard at once (Citus
  pushes `ORDER BY ... LIMIT k` down and merges). Uploads belong to one server, but they are
  few beside the feeds; their scope is a filter, not a key. Lookups by article id are
  single-shard; lookups of a question's few passages by passage id fan out, cheaply.
  Under Citus the (scope, content_hash) uniqueness cannot be a constraint of a table keyed
  by article: it moves to a table of its own keyed by content_hash.
- embeddings: by text_hash (every lookup names the hashes); the sentence-vector join then
  repartitions, or sentence vectors move onto the sentences rows.
- keyword_terms: by term (every lookup names the question's words).
- meta, schema_version: reference tables (tiny, read everywhere). feedback, follows: by id,
  follow_deliveries by follow id; feeds and feed_items by feed id (`postgres_feeds`).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from typing import AsyncIterator, Iterable, Sequence

import asyncpg
import numpy as np
from pgvector.asyncpg import register_vector

from ..tokenization import tokenize
from ..types import Article, ArticleText, Follow
from .base import NewArticle, PassageRow, SentenceVectors
from .postgres_feeds import PostgresFeeds
from .postgres_notices import ArticleNotices, OnAdded, announce

DATABASE_URL_ENV = "NEWSDESK_DATABASE_URL"
# Optional: where the connection that LISTENs for new articles goes, if not DATABASE_URL_ENV.
LISTEN_URL_ENV = "NEWSDESK_DATABASE_LISTEN_URL"
# Any constant: only migrations take this advisory lock.
MIGRATION_LOCK = 0x6E657773

# tsvector keeps at most 256 positions a word and positions up to 16383: a word's count in
# a passage saturates there (BM25 has long saturated by then: tf / (tf + 1.5) > 0.99).
MAX_POSITIONS = 256
MAX_POSITION = 16383

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('write_generation', '0'), ('keyword_passages', '0'), ('keyword_tokens', '0');
    CREATE SEQUENCE article_ids;
    CREATE SEQUENCE passage_ids;
    CREATE TABLE articles (
        id BIGINT PRIMARY KEY,
        scope TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        source TEXT,
        date TEXT,
        url TEXT,
        origin TEXT NOT NULL,
        text TEXT NOT NULL,
        added_at DOUBLE PRECISION NOT NULL,
        UNIQUE (scope, content_hash)
    );
    CREATE TABLE passages (
        id BIGINT PRIMARY KEY,
        article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        scope TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        text_hash TEXT NOT NULL,
        terms TSVECTOR NOT NULL,
        length INTEGER NOT NULL,
        embedding VECTOR
    );
    CREATE INDEX passages_article ON passages (article_id);
    CREATE INDEX passages_scope ON passages (scope);
    CREATE INDEX passages_text_hash ON passages (text_hash);
    CREATE INDEX passages_terms ON passages USING GIN (terms);
    CREATE TABLE sentences (
        passage_id BIGINT NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
        article_id BIGINT NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        text_hash TEXT NOT NULL
    );
    CREATE INDEX sentences_passage ON sentences (passage_id);
    CREATE INDEX sentences_text_hash ON sentences (text_hash);
    CREATE TABLE embeddings (
        text_hash TEXT NOT NULL,
        model TEXT NOT NULL,
        vector VECTOR NOT NULL,
        PRIMARY KEY (text_hash, model)
    );
    CREATE TABLE keyword_terms (term TEXT PRIMARY KEY, passages BIGINT NOT NULL);
    -- The passages carry their vectors for pgvector's HNSW index, which needs the column's size:
    -- set (with the index) by the first vectors stored, and again if a re-embed changes it.
    CREATE FUNCTION newsdesk_fit_vector_column(dim INTEGER) RETURNS VOID LANGUAGE plpgsql AS $fit$
    BEGIN
        IF dim IS NULL OR dim = (SELECT atttypmod FROM pg_attribute
                                 WHERE attrelid = 'passages'::regclass AND attname = 'embedding') THEN
            RETURN;
        END IF;
        -- two first uploads at once: the second waits here, then finds the size set
        LOCK TABLE passages IN ACCESS EXCLUSIVE MODE;
        IF dim = (SELECT atttypmod FROM pg_attribute WHERE attrelid = 'passages'::regclass AND attname = 'embedding') THEN
            RETURN;
        END IF;
        DROP INDEX IF EXISTS passages_embedding;
        EXECUTE format('ALTER TABLE passages ALTER COLUMN embedding TYPE vector(%s) USING NULL', dim);
        CREATE INDEX passages_embedding ON passages USING hnsw (embedding vector_ip_ops);
    END
    $fit$;
    CREATE TABLE feedback (
        id BIGSERIAL PRIMARY KEY,
        question TEXT NOT NULL,
        quotes TEXT NOT NULL,
        user_hash TEXT NOT NULL,
        helpful BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # Questions limited to a date range find their passages by the articles' dates; follows are
    # standing questions, and each article delivered for one is recorded so it goes out once.
    """
    CREATE INDEX articles_date ON articles (date);
    CREATE TABLE follows (
        id BIGSERIAL PRIMARY KEY,
        owner TEXT NOT NULL,
        scopes TEXT[] NOT NULL,
        topic TEXT NOT NULL,
        target TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX follows_owner ON follows (owner);
    CREATE TABLE follow_deliveries (
        follow_id BIGINT NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
        article_id BIGINT NOT NULL,
        delivered_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (follow_id, article_id)
    );
    """,
    # Feeds and the entries taken from them (`postgres_feeds`).
    """
    CREATE TABLE feeds (
        id BIGSERIAL PRIMARY KEY,
        scope TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT,
        added_by TEXT NOT NULL,
        interval_seconds INTEGER,
        etag TEXT,
        last_modified TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        last_polled_at DOUBLE PRECISION,
        last_success_at DOUBLE PRECISION,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at DOUBLE PRECISION NOT NULL,
        UNIQUE (scope, url)
    );
    CREATE TABLE feed_items (
        id BIGSERIAL PRIMARY KEY,
        feed_id BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        guid TEXT NOT NULL,
        url TEXT NOT NULL,
        entry_hash TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        article_id BIGINT REFERENCES articles (id) ON DELETE SET NULL,
        published TEXT,
        updated TEXT,
        first_seen DOUBLE PRECISION NOT NULL,
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX feed_items_url ON feed_items (url);
    CREATE INDEX feed_items_article ON feed_items (article_id);
    """,
    # Work that one process of several does at a time (a scan of corpus/): who holds it, until when.
    """
    CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
    """,
)

_SET_META = "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
_ADD_TO_META = "UPDATE meta SET value = (value::BIGINT + $2)::TEXT WHERE key = $1"

# Every query that filters by scope takes the scopes as $1, NULL for every scope.
_ARTICLES_IN_SCOPES = (
    "SELECT a.id, a.scope, a.title, a.source, a.date, a.url, a.origin, a.added_at, "
    "(SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id) FROM articles a "
    "WHERE ($1::TEXT[] IS NULL OR a.scope = ANY($1::TEXT[]))"
)
_ARTICLE_WITH_TEXT = (
    "SELECT a.id, a.scope, a.title, a.source, a.date, a.url, a.origin, a.added_at, "
    "(SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id), a.text FROM articles a "
    "WHERE ($1::TEXT[] IS NULL OR a.scope = ANY($1::TEXT[])) AND a.id = $2"
)
_PASSAGE_ROWS = (
    'SELECT p.id, p.article_id, p.start, p."end", substr(a.text, p.start + 1, p."end" - p.start), a.scope '
    "FROM passages p JOIN articles a ON a.id = p.article_id"
)


def database_url() -> str:
    """The DSN from the environment.

    Raises:
        ValueError: it is not set (the message names the variable, never a value).
    """
    dsn = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not dsn:
        raise ValueError(
            f'[storage] backend = "postgres" needs the database\'s URL in the environment: '
            f"export {DATABASE_URL_ENV}=postgresql://USER@HOST/DATABASE"
        )
    return dsn


def lexeme_literal(word: str) -> str:
    """A word quoted for a tsvector or tsquery literal, taken as it is (no parsing, no stemming)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(tokens: Sequence[str]) -> str:
    """Tokens as a tsvector literal: each word once, with its positions (so its count) in the passage."""
    positions: dict[str, list[str]] = {}
    for position, token in enumerate(tokens, start=1):
        positions.setdefault(token, []).append(str(min(position, MAX_POSITION)))
    return " ".join(f"{lexeme_literal(word)}:{','.join(at[:MAX_POSITIONS])}" for word, at in positions.items())


_FOLLOW_COLUMNS = "SELECT id, owner, scopes, topic, target, created_at FROM follows"


def _article(row: Sequence) -> Article:
    return Article(*row)


def _follow(row: Sequence) -> Follow:
    return Follow(row[0], row[1], tuple(row[2]), *row[3:])


def _vector_batch(rows: Sequence[asyncpg.Record], model: str) -> tuple[np.ndarray, np.ndarray]:
    if any(r[1] is None for r in rows):
        raise LookupError(f"passages have no embedding under {model}; re-embed them")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.stack([r[1].to_numpy() for r in rows])


def _scopes(scopes: Iterable[str] | None) -> list[str] | None:
    """The scopes as the `$1` of a query that filters by them: NULL means every scope (see IN_SCOPES)."""
    return None if scopes is None else list(scopes)


async def _migrate(connection: asyncpg.Connection) -> None:
    """Bring the schema up to date, once, whichever process gets the lock first."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        version = await connection.fetchval("SELECT MAX(version) FROM schema_version") or 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await connection.execute(script)
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", number)


class PostgresStore(PostgresFeeds):
    """A PostgreSQL database through a connection pool. Create with `await PostgresStore.open(dsn)`."""

    backend = "postgres"

    def __init__(self, pool: asyncpg.Pool, dsn: str):
        self.pool = pool
        self._dsn = dsn
        # This process, in its notices of new articles (not to hear its own) and its leases.
        self._origin = uuid.uuid4().hex
        self._notices: ArticleNotices | None = None

    @classmethod
    async def open(cls, dsn: str, max_connections: int = 10, statement_cache_size: int = 100) -> "PostgresStore":
        """Connect, migrate, and open a pool of up to max_connections.

        statement_cache_size: prepared statements kept per connection; 0 behind PgBouncer in
        transaction mode, where a statement prepared on one server connection is gone on the next.
        """
        connection = await asyncpg.connect(dsn, statement_cache_size=statement_cache_size)
        try:
            await _migrate(connection)
        finally:
            await connection.close()
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=max_connections, statement_cache_size=statement_cache_size, init=register_vector
        )
        return cls(pool, dsn)

    async def close(self) -> None:
        if self._notices is not None:
            await self._notices.close()
        await self.pool.close()

    async def watch_added(self, on_added: OnAdded) -> None:
        # LISTEN needs a session of its own: past a pooler in transaction mode, a URL of its own.
        dsn = os.environ.get(LISTEN_URL_ENV, "").strip() or self._dsn
        self._notices = ArticleNotices(dsn, self._origin, on_added)
        await self._notices.start()

    async def take_lease(self, name: str, seconds: float) -> bool:
        # Taken when free, expired (its holder died), or already this process's; on the database's clock.
        holder = await self.pool.fetchval(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3)) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at < clock_timestamp() RETURNING holder",
            name, self._origin, float(seconds),
        )
        return holder is not None

    async def drop_lease(self, name: str) -> None:
        await self.pool.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", name, self._origin)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as connection, connection.transaction():
            yield connection

    async def describe(self) -> str:
        """Its server version and database, never the DSN (which may hold a password)."""
        version, database, vector = await self.pool.fetchrow(
            "SELECT current_setting('server_version'), current_database(), "
            "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
        )
        return f"PostgreSQL {version.split()[0]} with pgvector {vector} (database {database})"

    async def schema_version(self) -> int:
        return await self.pool.fetchval("SELECT MAX(version) FROM schema_version")

    # --- settings kept with the data, and feedback ----------------------------------

    async def get_meta(self, key: str) -> str | None:
        return await self.pool.fetchval("SELECT value FROM meta WHERE key = $1", key)

    async def set_meta(self, key: str, value: str) -> None:
        await self.pool.execute(_SET_META, key, value)

    async def portable_meta(self) -> dict[str, str]:
        rows = await self.pool.fetch(
            "SELECT key, value FROM meta WHERE key NOT IN ('write_generation', 'keyword_passages', 'keyword_tokens')"
        )
        return dict(rows)

    async def write_generation(self) -> int:
        return int(await self.get_meta("write_generation"))

    async def add_feedback(self, question: str, quotes_json: str, rater: str, helpful: bool) -> None:
        await self.pool.execute(
            "INSERT INTO feedback (question, quotes, user_hash, helpful, created_at) VALUES ($1, $2, $3, $4, $5)",
            question, quotes_json, rater, helpful, time.time(),
        )

    # --- articles ----------------------------------------------------------------

    async def has_article(self, scope: str, content_hash: str) -> bool:
        return await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM articles WHERE scope = $1 AND content_hash = $2)", scope, content_hash
        )

    async def known_embeddings(self, text_hashes: Iterable[str], model: str) -> dict[str, np.ndarray]:
        rows = await self.pool.fetch(
            "SELECT text_hash, vector FROM embeddings WHERE model = $1 AND text_hash = ANY($2::TEXT[])",
            model, list(set(text_hashes)),
        )
        return {r[0]: r[1].to_numpy() for r in rows}

    async def add_articles(
        self, articles: Sequence[NewArticle], model: str, new_vectors: dict[str, np.ndarray]
    ) -> list[tuple[int, list[int]] | None]:
        """Store articles with their passages, words and new embeddings in one transaction, all or nothing.

        Ids come from sequences, so they are never reused, and an article whose scope
        already holds its content (stored by this process or another) is skipped by the
        unique constraint, not by a read that could race.

        Returns:
            Per article, (article id, passage ids), or None if its scope already holds that content.
        """
        if not articles:
            return []
        # the words of every passage, read off the event loop (a large upload has thousands)
        terms = await asyncio.to_thread(
            lambda: [[tokenize(a.text[p.start : p.end]) for p in a.passages] for a in articles]
        )
        async with self._transaction() as db:
            fresh = iter([r[0] for r in await db.fetch("SELECT nextval('article_ids') FROM generate_series(1, $1)", len(articles))])
            # an article copied from another store (`migrate`) keeps its id
            article_ids = [a.id or next(fresh) for a in articles]
            inserted = {
                r[0]
                for r in await db.fetch(
                    "INSERT INTO articles (id, scope, content_hash, title, source, date, url, origin, text, added_at) "
                    "SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], "
                    "$7::TEXT[], $8::TEXT[], $9::TEXT[], $10::FLOAT8[]) "
                    "ON CONFLICT (scope, content_hash) DO NOTHING RETURNING id",
                    article_ids, *zip(*[(a.scope, a.content_hash, a.title, a.source, a.date, a.url, a.origin, a.text) for a in articles]),
                    [a.added_at or time.time() for a in articles],
                )
            }
            kept = [(i, a, t) for i, a, t in zip(article_ids, articles, terms) if i in inserted]
            passage_count = sum(len(a.passages) for _, a, _ in kept)
            fresh = iter([r[0] for r in await db.fetch("SELECT nextval('passage_ids') FROM generate_series(1, $1)", passage_count)])
            passage_rows, sentence_rows, results = [], [], {}
            document_frequency: Counter[str] = Counter()
            for article_id, a, article_terms in kept:
                results[article_id] = []
                for p, tokens in zip(a.passages, article_terms):
                    passage_id = p.id or next(fresh)
                    results[article_id].append(passage_id)
                    passage_rows.append(
                        (passage_id, article_id, a.scope, p.ordinal, p.start, p.end, p.text_hash, tsvector_literal(tokens), len(tokens))
                    )
                    sentence_rows.extend((passage_id, article_id, s.start, s.end, s.text_hash) for s in p.sentences)
                    document_frequency.update(set(tokens))
            if passage_rows:
                await db.execute(
                    'INSERT INTO passages (id, article_id, scope, ordinal, start, "end", text_hash, terms, length) '
                    "SELECT i, a, s, o, st, e, h, t::TSVECTOR, l FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], "
                    "$4::INT[], $5::INT[], $6::INT[], $7::TEXT[], $8::TEXT[], $9::INT[]) AS r(i, a, s, o, st, e, h, t, l)",
                    *map(list, zip(*passage_rows)),
                )
            if sentence_rows:
                await db.execute(
                    'INSERT INTO sentences (passage_id, article_id, start, "end", text_hash) '
                    "SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::INT[], $4::INT[], $5::TEXT[])",
                    *map(list, zip(*sentence_rows)),
                )
            await self._insert_embeddings(db, model, new_vectors)
            if kept:
                # ids given from outside move the sequences past them, so they are never given again
                await db.execute(
                    "SELECT setval('article_ids', GREATEST((SELECT last_value FROM article_ids), $1)), "
                    "setval('passage_ids', GREATEST((SELECT last_value FROM passage_ids), $2))",
                    max(i for i, _, _ in kept), max((r[0] for r in passage_rows), default=1),
                )
                await self._set_passage_vectors(db, model, [article_id for article_id, _, _ in kept])
                await self._count_words(db, document_frequency, len(passage_rows), sum(r[-1] for r in passage_rows))
                await self._bump_generation(db)
                await announce(db, self._origin, [(a.scope, article_id) for article_id, a, _ in kept])
        return [(i, results[i]) if i in results else None for i in article_ids]

    async def _set_passage_vectors(self, db: asyncpg.Connection, model: str, article_ids: list[int] | None) -> None:
        """Copy the passages' vectors under model (of those articles; None: all) beside them, where the
        HNSW index finds them with their scope; the column first takes their size if it differs."""
        await db.execute(
            "SELECT newsdesk_fit_vector_column((SELECT vector_dims(vector) FROM embeddings WHERE model = $1 LIMIT 1))",
            model,
        )
        await db.execute(
            "UPDATE passages p SET embedding = e.vector FROM embeddings e "
            "WHERE ($1::BIGINT[] IS NULL OR p.article_id = ANY($1::BIGINT[])) AND e.text_hash = p.text_hash AND e.model = $2",
            article_ids, model,
        )

    async def _count_words(self, db: asyncpg.Connection, document_frequency: Counter, passages: int, tokens: int) -> None:
        """Add (or, negative, take away) passages' words to the BM25 statistics.

        Words are updated in sorted order, so two writers lock shared words in the same
        order and wait for each other rather than deadlock."""
        words = sorted(document_frequency)
        await db.execute(
            "INSERT INTO keyword_terms (term, passages) SELECT * FROM unnest($1::TEXT[], $2::BIGINT[]) "
            "ON CONFLICT (term) DO UPDATE SET passages = keyword_terms.passages + excluded.passages",
            words, [document_frequency[w] for w in words],
        )
        await db.execute("DELETE FROM keyword_terms WHERE term = ANY($1::TEXT[]) AND passages <= 0", words)
        await db.executemany(_ADD_TO_META, [("keyword_passages", passages), ("keyword_tokens", tokens)])

    async def _bump_generation(self, db: asyncpg.Connection) -> None:
        await db.execute(_ADD_TO_META, "write_generation", 1)

    async def remove_article(self, article_id: int, scopes: Iterable[str] | None = None) -> list[int] | None:
        """Delete an article (if within scopes), its passages, their words' counts, and embeddings no longer used.

        Returns:
            The removed passage ids, or None if there was no such article in scope.
        """
        async with self._transaction() as db:
            found = await db.fetchval(
                "SELECT id FROM articles WHERE ($1::TEXT[] IS NULL OR scope = ANY($1::TEXT[])) AND id = $2 FOR UPDATE",
                _scopes(scopes), article_id,
            )
            if found is None:
                return None
            passages = await db.fetch(
                "SELECT id, length, text_hash, terms FROM passages WHERE article_id = $1 ORDER BY id", article_id
            )
            words = await db.fetch(
                "SELECT t.lexeme, COUNT(*) FROM passages p, unnest(p.terms) t WHERE p.article_id = $1 GROUP BY t.lexeme",
                article_id,
            )
            hashes = [r["text_hash"] for r in passages] + [
                r[0] for r in await db.fetch("SELECT text_hash FROM sentences WHERE article_id = $1", article_id)
            ]
            await db.execute("DELETE FROM articles WHERE id = $1", article_id)
            await self._count_words(
                db, Counter({w: -n for w, n in words}), -len(passages), -sum(r["length"] for r in passages)
            )
            await self._bump_generation(db)
            await db.execute(
                "DELETE FROM embeddings e WHERE e.text_hash = ANY($1::TEXT[]) "
                "AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.text_hash = e.text_hash) "
                "AND NOT EXISTS (SELECT 1 FROM sentences s WHERE s.text_hash = e.text_hash)",
                hashes,
            )
        return [r["id"] for r in passages]

    async def article(self, article_id: int, scopes: Iterable[str] | None = None) -> ArticleText | None:
        row = await self.pool.fetchrow(_ARTICLE_WITH_TEXT, _scopes(scopes), article_id)
        return ArticleText(_article(row[:-1]), row[-1]) if row else None

    async def articles(
        self, scopes: Iterable[str] | None = None, title_like: str | None = None, limit: int | None = None
    ) -> list[Article]:
        """Articles within scopes, newest first, with their passage counts (titles matched regardless of case)."""
        pattern = None
        if title_like:
            escaped = title_like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
        rows = await self.pool.fetch(
            _ARTICLES_IN_SCOPES + " AND ($2::TEXT IS NULL OR a.title ILIKE $2) "
            "ORDER BY a.date IS NULL, a.date DESC, a.id DESC LIMIT $3",
            _scopes(scopes), pattern, limit,
        )
        return [_article(row) for row in rows]

    async def last_added(self, scopes: Iterable[str] | None = None) -> Article | None:
        row = await self.pool.fetchrow(_ARTICLES_IN_SCOPES + " ORDER BY a.added_at DESC, a.id DESC LIMIT 1", _scopes(scopes))
        return _article(row) if row else None

    async def articles_by_id(self, article_ids: Iterable[int]) -> dict[int, Article]:
        rows = await self.pool.fetch(_ARTICLES_IN_SCOPES + " AND a.id = ANY($2::BIGINT[])", None, [int(i) for i in set(article_ids)])
        return {row[0]: _article(row) for row in rows}

    async def article_texts(self, article_ids: Iterable[int]) -> dict[int, str]:
        rows = await self.pool.fetch("SELECT id, text FROM articles WHERE id = ANY($1::BIGINT[])", [int(i) for i in set(article_ids)])
        return {row[0]: row[1] for row in rows}

    # --- passages ----------------------------------------------------------------

    async def passages(self, passage_ids: Iterable[int] | None = None) -> list[PassageRow]:
        if passage_ids is None:
            rows = await self.pool.fetch(_PASSAGE_ROWS + " ORDER BY p.id")
        else:
            rows = await self.pool.fetch(_PASSAGE_ROWS + " WHERE p.id = ANY($1::BIGINT[])", [int(i) for i in set(passage_ids)])
        return [PassageRow(*row) for row in rows]

    async def passage_scopes(self) -> dict[str, np.ndarray]:
        rows = await self.pool.fetch("SELECT scope, array_agg(id ORDER BY id) FROM passages GROUP BY scope")
        return {scope: np.asarray(ids, dtype=np.int64) for scope, ids in rows}

    async def passage_vectors(
        self, model: str, passage_ids: Iterable[int] | None = None, batch: int = 20_000
    ) -> AsyncIterator[tuple[np.ndarray, np.ndarray]]:
        """Passage ids with their stored vectors under model, a batch at a time (all passages if ids is None).

        Raises:
            LookupError: some passage has no vector for this model (re-embed needed).
        """
        sql = "SELECT p.id, e.vector FROM passages p LEFT JOIN embeddings e ON e.text_hash = p.text_hash AND e.model = $1"
        if passage_ids is not None:
            rows = await self.pool.fetch(sql + " WHERE p.id = ANY($2::BIGINT[]) ORDER BY p.id", model, sorted({int(i) for i in passage_ids}))
            if rows:
                yield _vector_batch(rows, model)
            return
        async with self.pool.acquire() as db, db.transaction():  # a cursor lives in a transaction
            rows = []
            async for row in db.cursor(sql + " ORDER BY p.id", model, prefetch=batch):
                rows.append(row)
                if len(rows) == batch:
                    yield _vector_batch(rows, model)
                    rows = []
            if rows:
                yield _vector_batch(rows, model)

    async def texts_missing_embedding(self, model: str) -> list[tuple[str, str]]:
        missing = []
        for table in ("passages", "sentences"):  # both carry their article's id
            missing.extend(
                await self.pool.fetch(
                    'SELECT DISTINCT ON (p.text_hash) p.text_hash, substr(a.text, p.start + 1, p."end" - p.start) '
                    f"FROM {table} p JOIN articles a ON a.id = p.article_id "
                    "WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = p.text_hash AND e.model = $1)",
                    model,
                )
            )
        return list(dict((h, t) for h, t in missing).items())

    async def sentence_vectors(self, passage_ids: Iterable[int], model: str) -> dict[int, SentenceVectors]:
        rows = await self.pool.fetch(
            'SELECT s.passage_id, s.start, s."end", e.vector FROM sentences s '
            "JOIN embeddings e ON e.text_hash = s.text_hash AND e.model = $1 "
            "WHERE s.passage_id = ANY($2::BIGINT[]) ORDER BY s.passage_id, s.start",
            model, [int(i) for i in set(passage_ids)],
        )
        grouped: dict[int, list] = {}
        for passage_id, start, end, vector in rows:
            grouped.setdefault(passage_id, []).append((start, end, vector.to_numpy()))
        return {
            pid: SentenceVectors([(s, e) for s, e, _ in sentences], np.stack([v for _, _, v in sentences]))
            for pid, sentences in grouped.items()
        }

    async def _insert_embeddings(self, db: asyncpg.Connection, model: str, vectors: dict[str, np.ndarray]) -> None:
        await db.executemany(
            "INSERT INTO embeddings (text_hash, model, vector) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(h, model, np.asarray(v, dtype=np.float32)) for h, v in vectors.items()],
        )

    async def add_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        async with self._transaction() as db:
            await self._insert_embeddings(db, model, vectors)

    async def drop_embeddings_except(self, model: str) -> None:
        """Keep only model's vectors, which the passages then carry for the dense search."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM embeddings WHERE model != $1", model)
            await self._set_passage_vectors(db, model, None)

    async def counts(self, scopes: Iterable[str] | None = None) -> tuple[int, int]:
        row = await self.pool.fetchrow(
            "SELECT (SELECT COUNT(*) FROM articles WHERE $1::TEXT[] IS NULL OR scope = ANY($1::TEXT[])), "
            "(SELECT COUNT(*) FROM passages WHERE $1::TEXT[] IS NULL OR scope = ANY($1::TEXT[]))",
            _scopes(scopes),
        )
        return row[0], row[1]

    async def usage(self, scope: str) -> tuple[int, int]:
        row = await self.pool.fetchrow(
            "SELECT COUNT(*), COALESCE(SUM(octet_length(text)), 0) FROM articles WHERE scope = $1", scope
        )
        return row[0], row[1]

    async def passage_ids_of(
        self,
        article_ids: Iterable[int] | None = None,
        dated_from: str | None = None,
        dated_before: str | None = None,
    ) -> np.ndarray:
        """Passage ids, ascending, of those articles (None: any) dated within [dated_from, dated_before).

        Dates compare as text (collation C): `YYYY-MM-DD` and ISO times sort as the days they start with.
        """
        rows = await self.pool.fetch(
            "SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id "
            'WHERE ($1::TEXT IS NULL OR a.date >= $1 COLLATE "C") AND ($2::TEXT IS NULL OR a.date < $2 COLLATE "C") '
            "AND ($3::BIGINT[] IS NULL OR a.id = ANY($3::BIGINT[])) ORDER BY p.id",
            dated_from, dated_before, None if article_ids is None else [int(i) for i in set(article_ids)],
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    async def articles_after(self, article_id: int) -> dict[str, list[int]]:
        rows = await self.pool.fetch("SELECT scope, array_agg(id ORDER BY id) FROM articles WHERE id > $1 GROUP BY scope", article_id)
        return {scope: list(ids) for scope, ids in rows}

    # --- follows ---------------------------------------------------------------------

    async def add_follow(self, owner: str, scopes: Sequence[str], topic: str, target: str) -> Follow:
        row = await self.pool.fetchrow(
            "INSERT INTO follows (owner, scopes, topic, target, created_at) VALUES ($1, $2, $3, $4, $5) "
            "RETURNING id, owner, scopes, topic, target, created_at",
            owner, list(scopes), topic, target, time.time(),
        )
        return _follow(row)

    async def follows(self, owner: str | None = None) -> list[Follow]:
        rows = await self.pool.fetch(_FOLLOW_COLUMNS + " WHERE $1::TEXT IS NULL OR owner = $1 ORDER BY id", owner)
        return [_follow(row) for row in rows]

    async def remove_follow(self, follow_id: int, owner: str) -> Follow | None:
        row = await self.pool.fetchrow(
            "DELETE FROM follows WHERE id = $1 AND owner = $2 RETURNING id, owner, scopes, topic, target, created_at",
            follow_id, owner,
        )
        return _follow(row) if row else None

    async def claim_delivery(self, follow_id: int, article_id: int) -> bool:
        claimed = await self.pool.fetchval(
            "INSERT INTO follow_deliveries (follow_id, article_id, delivered_at) SELECT id, $2, $3 FROM follows "
            "WHERE id = $1 ON CONFLICT DO NOTHING RETURNING TRUE",
            follow_id, article_id, time.time(),
        )
        return bool(claimed)
