"""The SQLite store's migrations."""

import sqlite3
from pathlib import Path

from index.store.sqlite import DB_NAME, SqliteStore


async def test_the_bots_feedback_salt_moves_among_the_applications_keys(tmp_path: Path):
    path = tmp_path / DB_NAME
    await (await SqliteStore.open(path)).close()
    with sqlite3.connect(path) as db:  # as a store of schema version 2 left it
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO meta (key, value) VALUES ('feedback_salt', 'pepper')")
    store = await SqliteStore.open(path)
    try:
        assert await store.schema_version() == 3
        assert await store.get_meta("app:feedback_salt") == "pepper"
        assert await store.get_meta("feedback_salt") is None
    finally:
        await store.close()
