"""The SQLite store's migrations."""

import sqlite3
from pathlib import Path

from newsdesk.index.store.sqlite import DB_NAME, MIGRATIONS, SqliteStore


async def test_the_bots_feedback_salt_moves_among_the_applications_keys(tmp_path: Path):
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as db:  # as a store of schema version 2 left it
        db.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "PRAGMA user_version = 2;")
        db.execute("INSERT INTO meta (key, value) VALUES ('feedback_salt', 'pepper')")
    store = await SqliteStore.open(path)
    try:
        assert await store.schema_version() == len(MIGRATIONS)
        assert await store.get_meta("app:feedback_salt") == "pepper"
        assert await store.get_meta("feedback_salt") is None
    finally:
        await store.close()


async def test_an_older_store_counts_ids_on_from_its_highest(tmp_path: Path):
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as db:  # schema version 3, an article with id 7 and passage 9
        db.executescript("".join(MIGRATIONS[:3]) + "PRAGMA user_version = 3;")
        db.execute("INSERT INTO articles VALUES (7, 'global', 'h', 't', NULL, NULL, NULL, 'o', 'text', 0)")
        db.execute("INSERT INTO passages VALUES (9, 7, 0, 0, 4, 'p')")
    store = await SqliteStore.open(path)
    try:
        assert (await store.get_meta("last_article_id"), await store.get_meta("last_passage_id")) == ("7", "9")
        assert await store.write_generation() == 0
    finally:
        await store.close()
