"""Opens the store the config names (`[storage] backend`)."""

from __future__ import annotations

from ..settings import StorageSettings
from .base import Store
from .sqlite import DB_NAME, SqliteStore

BACKENDS = ("sqlite",)


async def open_store(storage: StorageSettings) -> Store:
    """Open (creating and migrating if needed) the configured backend's store in `storage.data_dir`.

    Raises:
        ValueError: the backend is not one of BACKENDS.
    """
    if storage.backend == "sqlite":
        return await SqliteStore.open(storage.data_dir / DB_NAME)
    raise ValueError(f"unknown [storage] backend {storage.backend!r}; use one of {', '.join(BACKENDS)}")
