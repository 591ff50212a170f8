"""Questions never wait on writes (issue 10, item 2): a large upload is embedded and committed a
chunk of whole articles at a time, in threads of its own, while questions are answered."""

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

from newsdesk.index import Engine
from newsdesk.index.models.embedding import HashingEmbedder

from tests.support.engines import BRIDGE, ORCHARD, filler_articles, hashing_settings, write_jsonl

# A word only the held article holds: embedding it holds the upload until the test lets it go.
HELD_WORD = "zqheldmark"
HELD = {"title": "Held report", "text": f"The {HELD_WORD} report waits for the test to let it through the encoder."}


def chunked_settings(data_dir: Path):
    settings = hashing_settings(data_dir)
    # a filler article is about 750 characters: two or three to a chunk
    return replace(settings, corpus=replace(settings.corpus, chunk_chars=2_000))


async def passages_per_article(tmp_path: Path, articles: list[dict]) -> dict[str, int]:
    """title -> passages, in a store that ingested the articles whole, with nothing held."""
    async with await Engine.open(settings=chunked_settings(tmp_path / "reference")) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "reference.jsonl", articles)])
        return {a.title: a.passages for a in await engine.articles()}


async def test_a_question_is_answered_while_a_large_upload_is_held_between_chunks(tmp_path: Path, monkeypatch):
    before_held = [BRIDGE, *filler_articles(12)]
    upload = [*before_held, HELD, *filler_articles(12, seed=6)]
    whole = await passages_per_article(tmp_path, [a for a in upload if a is not HELD])
    reached, release = threading.Event(), threading.Event()
    original_encode = HashingEmbedder.encode

    def held_encode(self, texts):
        if any(HELD_WORD in text for text in texts):
            reached.set()
            release.wait(20)
        return original_encode(self, texts)

    monkeypatch.setattr(HashingEmbedder, "encode", held_encode)
    async with await Engine.open(settings=chunked_settings(tmp_path / "data")) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "orchard.jsonl", [ORCHARD])])
        data = write_jsonl(tmp_path / "big.jsonl", upload).read_bytes()
        uploading = asyncio.create_task(engine.ingest_document(data, "big.jsonl", "guild-1"))
        try:
            assert await asyncio.to_thread(reached.wait, 20), "the upload never reached the held article"
            # the upload is now embedding the held article's chunk, and cannot go on until released
            answer = await asyncio.wait_for(
                engine.ask("when did the harbour bridge reopen after repairs?", ["global", "guild-1"]), 20
            )
            assert answer.answers and answer.answers[0].article.title == BRIDGE["title"]
            assert not uploading.done()
            stored = {a.title: a.passages for a in await engine.articles(["guild-1"])}
            # the chunks before the held one, each article whole; nothing from the held chunk on
            assert BRIDGE["title"] in stored
            assert set(stored) <= {a["title"] for a in before_held}
            assert all(passages == whole[title] for title, passages in stored.items())
        finally:
            release.set()
        report = await uploading
        assert (report.articles_added, report.duplicates, report.problems) == (len(upload), 0, [])
        stored = {a.title: a.passages for a in await engine.articles(["guild-1"])}
        assert stored == {**whole, HELD["title"]: 1}
