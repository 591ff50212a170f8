"""Follows in the engine: standing questions matched against new articles, each delivered at most once
(on each storage backend: `storage_backend`)."""

from __future__ import annotations

from pathlib import Path

from newsdesk.index import GLOBAL_SCOPE, Engine
from newsdesk.index.events import ArticlesAdded
from tests.support.dated_news import STRIKE_BEGINS, STRIKE_ENDS
from tests.support.engines import BRIDGE, ORCHARD, hashing_settings, write_jsonl


async def test_a_follow_matches_new_articles_that_answer_it_and_each_is_claimed_once(
    tmp_path: Path, storage_backend: str
):
    settings = hashing_settings(tmp_path / "data", storage_backend)
    events: list[ArticlesAdded] = []
    async with await Engine.open(settings=settings) as engine:
        engine.subscribe(events.append)
        follow = await engine.follows.add("guild-1", [GLOBAL_SCOPE, "guild-1"], "lakeside ferry strike", "channel-9")
        other_server = await engine.follows.add("guild-2", [GLOBAL_SCOPE, "guild-2"], "lakeside ferry strike", "channel-8")
        await engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [STRIKE_BEGINS, ORCHARD])])
        await engine.ingest_document(write_jsonl(tmp_path / "b.jsonl", [STRIKE_ENDS]).read_bytes(), "b.jsonl", "guild-1")
        first, uploaded = events
        global_matches = await engine.follows.matches(first)
        assert {(f.id, q.article.title) for f, q in global_matches} == {
            (follow.id, STRIKE_BEGINS["title"]),
            (other_server.id, STRIKE_BEGINS["title"]),  # the orchard answers neither
        }
        assert all(q.score >= settings.retrieval.abstain_below for _, q in global_matches)
        # guild-1's upload is not guild-2's to see.
        assert [(f.id, q.article.title) for f, q in await engine.follows.matches(uploaded)] == [
            (follow.id, STRIKE_ENDS["title"])
        ]
        article_id = uploaded.article_ids[0]
        assert await engine.follows.claim(follow, article_id)
        assert not await engine.follows.claim(follow, article_id)
    async with await Engine.open(settings=settings) as engine:  # claims outlive the process
        assert not await engine.follows.claim(follow, article_id)
        assert [f.topic for f in await engine.follows.list("guild-1")] == ["lakeside ferry strike"]
        assert await engine.follows.remove(follow.id, "guild-2") is None  # not guild-2's follow
        assert (await engine.follows.remove(follow.id, "guild-1")).id == follow.id
        assert not await engine.follows.claim(follow, 10_000)  # gone: nothing more is delivered for it
        assert [f.owner for f in await engine.follows.list()] == ["guild-2"]


async def test_a_follow_on_an_unrelated_topic_matches_nothing(tmp_path: Path, storage_backend: str):
    async with await Engine.open(settings=hashing_settings(tmp_path / "data", storage_backend)) as engine:
        await engine.follows.add("g", [GLOBAL_SCOPE], "volcanic eruption in iceland", "c")
        report = await engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [BRIDGE, ORCHARD])])
        ids = tuple(i for f in report.files for i in f.article_ids)
        assert await engine.follows.matches(ArticlesAdded(GLOBAL_SCOPE, ids)) == []


async def test_articles_added_while_nobody_listened_are_matched_later_and_only_for_newer_follows(tmp_path: Path):
    settings = hashing_settings(tmp_path / "data")
    async with await Engine.open(settings=settings) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "old.jsonl", [STRIKE_BEGINS])])
        assert await engine.follows.missed() == []  # the first time, matching starts now
        follow = await engine.follows.add("g", [GLOBAL_SCOPE, "g"], "lakeside ferry strike", "c")
    async with await Engine.open(settings=settings) as engine:  # another process adds, with no one listening
        report = await engine.ingest_document(write_jsonl(tmp_path / "n.jsonl", [STRIKE_ENDS]).read_bytes(), "n.jsonl", "g")
    async with await Engine.open(settings=settings) as engine:
        (missed,) = await engine.follows.missed()
        assert missed == ArticlesAdded("g", tuple(report.article_ids))
        assert [(f.id, q.article.title) for f, q in await engine.follows.matches(missed)] == [(follow.id, STRIKE_ENDS["title"])]
        await engine.follows.matched(missed)
        assert await engine.follows.missed() == []
        # The strike's start was stored before the follow began: matched late, it is not news to it.
        (old_id,) = (a.id for a in await engine.articles() if a.title == STRIKE_BEGINS["title"])
        assert await engine.follows.matches(ArticlesAdded(GLOBAL_SCOPE, (old_id,))) == []
