"""Writes are isolated: a small write never rolls back with an upload's, and reads see only committed data."""

import asyncio
from pathlib import Path

import pytest

from newsdesk.index import Engine
from newsdesk.index.store.sqlite import SqliteStore

from tests.support.engines import BRIDGE, hashing_settings, write_jsonl


async def test_a_write_made_during_a_failed_upload_stays_and_readers_never_see_the_upload(
    tmp_path: Path, monkeypatch
):
    inside, release = asyncio.Event(), asyncio.Event()
    original_insert = SqliteStore._insert_embeddings

    async def insert_then_fail(self, model, vectors):
        await original_insert(self, model, vectors)  # the article's rows are written, not committed
        inside.set()
        await release.wait()
        raise OSError("disk full")

    monkeypatch.setattr(SqliteStore, "_insert_embeddings", insert_then_fail)
    async with await Engine.open(settings=hashing_settings(tmp_path / "data")) as engine:
        upload = asyncio.create_task(engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [BRIDGE])]))
        await inside.wait()
        assert await engine.articles() == []  # a half-written article is not seen
        assert (await engine.ask("when did the harbour bridge reopen?")).answers == []
        setting = asyncio.create_task(engine.app_data.set("synced_commands", "abc"))
        await asyncio.sleep(0.05)  # the setting is sent while the upload's transaction is open
        release.set()
        with pytest.raises(OSError):
            await upload
        await setting
        assert await engine.app_data.get("synced_commands") == "abc"
        assert await engine.articles() == []
