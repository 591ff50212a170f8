"""Opens the store the config names (`[storage] backend`)."""

from __future__ import annotations

from ..settings import StorageSettings
from .base import Store
from .sqlite import DB_NAME, SqliteStore

BACKENDS = ("sqlite", "postgres")


async def open_store(storage: StorageSettings, url: str | None = None) -> Store:
    """Open (creating and migrating if needed) the configured backend's store: SQLite in
    `storage.data_dir`, or the PostgreSQL database at url (default: NEWSDESK_DATABASE_URL).

    Raises:
        ValueError: the backend is not one of BACKENDS, or PostgreSQL's URL is not set.
    """
    if storage.backend == "sqlite":
        return await SqliteStore.open(storage.data_dir / DB_NAME)
    if storage.backend == "postgres":
        # imported here: asyncpg and pgvector are needed only by this backend (the `postgres` extra)
        from .postgres import PostgresStore, database_url

        return await PostgresStore.open(url or database_url(), storage.pool_size, storage.statement_cache_size)
    raise ValueError(f"unknown [storage] backend {storage.backend!r}; use one of {', '.join(BACKENDS)}")
