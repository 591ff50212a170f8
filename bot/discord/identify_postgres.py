"""IDENTIFY turns through PostgreSQL, for processes of the bot on any machine that share its database.

A turn is one transaction: an advisory lock for the bucket (transaction-scoped, so it works
behind PgBouncer in transaction mode and goes with the connection if the process dies), the
bucket's last IDENTIFY read from a row and waited out on the database's clock (the machines'
clocks may disagree), and the row set to now before the commit releases the lock.

Under Citus `discord_identify` is a reference table: a few rows, read and written only here.
"""

from __future__ import annotations

import asyncio

import asyncpg

from newsdesk.index.store.postgres import database_url

from .identify import IdentifyTurns

CREATE_TABLE = """
    CREATE TABLE IF NOT EXISTS discord_identify (
        application_id BIGINT NOT NULL,
        bucket INTEGER NOT NULL,
        last_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (application_id, bucket)
    )
"""
# Advisory locks are keyed by a number: these names, hashed by the database.
TABLE_LOCK = "newsdesk.discord_identify"
BUCKET_LOCK = "newsdesk.discord_identify.{application_id}.{bucket}"
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"


class PostgresIdentifyTurns(IdentifyTurns):
    """Turns through the database named by NEWSDESK_DATABASE_URL (see the module's docstring)."""

    def __init__(self, dsn: str, application_id: int, spacing: float) -> None:
        super().__init__(application_id, spacing)
        self._dsn = dsn
        self._table_ready = False

    @classmethod
    def from_environment(cls, application_id: int, spacing: float) -> "PostgresIdentifyTurns":
        return cls(database_url(), application_id, spacing)

    async def take_turn(self, bucket: int) -> None:
        # A connection of its own, for a few seconds at start-up and on a new session: none is
        # kept between turns. No prepared statements, for PgBouncer in transaction mode.
        connection = await asyncpg.connect(self._dsn, statement_cache_size=0)
        try:
            if not self._table_ready:
                async with connection.transaction():
                    await connection.execute(LOCK, TABLE_LOCK)  # two first runs must not both create it
                    await connection.execute(CREATE_TABLE)
                self._table_ready = True
            async with connection.transaction():
                await connection.execute(LOCK, BUCKET_LOCK.format(application_id=self.application_id, bucket=bucket))
                seconds_since_last = await connection.fetchval(
                    "SELECT EXTRACT(EPOCH FROM clock_timestamp() - last_at)::float8 FROM discord_identify"
                    " WHERE application_id = $1 AND bucket = $2",
                    self.application_id,
                    bucket,
                )
                await asyncio.sleep(self._wait_after(seconds_since_last))
                await connection.execute(
                    "INSERT INTO discord_identify (application_id, bucket, last_at) VALUES ($1, $2, clock_timestamp())"
                    " ON CONFLICT (application_id, bucket) DO UPDATE SET last_at = EXCLUDED.last_at",
                    self.application_id,
                    bucket,
                )
        finally:
            await connection.close()
