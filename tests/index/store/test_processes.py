"""Several processes sharing one PostgreSQL store: each hears the articles the others add, and
one at a time reads a folder or polls a feed (a lease in the database), a dead reader's lease
running out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from newsdesk.index import ArticlesAdded, Engine
from newsdesk.index.store.postgres import DATABASE_URL_ENV

from tests.support.engines import BRIDGE, ORCHARD, db_rows, hashing_settings, with_feeds, write_jsonl
from tests.support.feed_server import FeedServer, stories

pytestmark = pytest.mark.postgres


@pytest.fixture
def shared(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_dsn)


async def test_an_engine_hears_the_articles_another_process_commits(tmp_path: Path, shared):
    # Two engines, each with its own connections and origin, as two processes have.
    writer = await Engine.open(settings=hashing_settings(tmp_path / "writer", "postgres"))
    listener = await Engine.open(settings=hashing_settings(tmp_path / "listener", "postgres"))
    try:
        heard: asyncio.Queue[ArticlesAdded] = asyncio.Queue()
        listener.subscribe(heard.put_nowait)
        told_writer: list[ArticlesAdded] = []
        writer.subscribe(told_writer.append)
        upload = write_jsonl(tmp_path / "upload.jsonl", [BRIDGE])
        first = await writer.ingest_document(upload.read_bytes(), "upload.jsonl", "111")
        assert await asyncio.wait_for(heard.get(), 10) == ArticlesAdded("111", tuple(first.article_ids))
        (second,) = (await writer.ingest_paths([write_jsonl(tmp_path / "feed.jsonl", [ORCHARD])])).files
        assert await asyncio.wait_for(heard.get(), 10) == ArticlesAdded("global", tuple(second.article_ids))
        # the writer told its own listeners once each, not again on hearing its own notices
        assert [event.article_ids for event in told_writer] == [tuple(first.article_ids), tuple(second.article_ids)]
    finally:
        await listener.close()
        await writer.close()


async def test_one_process_reads_a_folder_at_a_time(tmp_path: Path, shared):
    settings = hashing_settings(tmp_path / "data", "postgres")
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_jsonl(folder / "feed.jsonl", [BRIDGE, ORCHARD])
    lease = f"folder:global:{folder.resolve()}"
    async with await Engine.open(settings=settings) as engine:
        await db_rows(settings, f"INSERT INTO leases VALUES ('{lease}', 'another process', now() + interval '1 hour')")
        assert await engine.ingest_folder_if_changed(folder) is None  # being read by the other process
        assert await db_rows(settings, "SELECT COUNT(*) FROM articles") == [(0,)]
        await db_rows(settings, "UPDATE leases SET expires_at = now() - interval '1 second'")  # which died
        report = await engine.ingest_folder_if_changed(folder)
        assert report is not None and report.articles_added == 2
        assert await db_rows(settings, "SELECT COUNT(*) FROM leases") == [(0,)]  # given up when done
        assert await engine.ingest_folder_if_changed(folder) is None  # unchanged since



async def test_processes_poll_a_due_feed_once(tmp_path: Path, shared):
    async with FeedServer(stories()) as server:
        engines = [
            await Engine.open(settings=with_feeds(hashing_settings(tmp_path / name, "postgres"), allow_private_addresses=True))
            for name in ("first", "second")
        ]
        try:
            await engines[0].feeds.add(server.url("/rss"))
            polled = server.requests["/rss"]
            await db_rows(engines[0].settings, "UPDATE feeds SET next_poll_at = 0")  # due now, for both
            await asyncio.gather(*(engine.feeds.poll_due() for engine in engines))
            assert server.requests["/rss"] == polled + 1
            assert await db_rows(engines[0].settings, "SELECT COUNT(*) FROM leases") == [(0,)]
        finally:
            for engine in engines:
                await engine.close()
