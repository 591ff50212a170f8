"""Nothing stale: ids never come back, saved indexes are checked against the store's writes."""

from pathlib import Path

from newsdesk.index import Engine

from tests.support.engines import BRIDGE, ORCHARD, eventually, hashing_settings, write_jsonl


async def test_a_removed_articles_ids_are_never_reused_by_the_next_upload(tmp_path: Path):
    """Removing the newest article and uploading another of as many passages must not bring
    back the removed text's keyword scores (saved under the same ids)."""
    engine = await Engine.open(settings=hashing_settings(tmp_path / "data"))
    try:
        await engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [BRIDGE])])
        assert not (await engine.ask("harbour bridge steel cables repairs")).abstained  # saves the keyword index
        (bridge,) = await engine.articles()
        assert await engine.remove(bridge.id)
        await engine.ingest_paths([write_jsonl(tmp_path / "b.jsonl", [ORCHARD])])

        answer = await engine.ask("record apple harvest in the valley")
        assert answer.answers[0].article.title == "Orchard harvest record"
        assert "record harvest" in answer.answers[0].highlight
        # BM25 (behind /search and the eval's baseline) scores the new passages by their own words,
        # and the removed article's words match nothing stored
        assert await engine.rank_by_keyword("record apple harvest", 5)
        assert await engine.rank_by_keyword("harbour bridge steel cables", 5) == []
    finally:
        await engine.close()


async def test_saved_indexes_from_an_earlier_write_generation_are_rebuilt(tmp_path: Path, monkeypatch):
    """The same passage ids are not enough: an index saved before later writes is not trusted."""
    from newsdesk.index.search.keyword import KeywordIndex

    settings = hashing_settings(tmp_path / "data")
    async with await Engine.open(settings=settings) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [BRIDGE])])
        await engine.ask("harbour bridge steel cables")  # saves the keyword index over the bridge's passages
    # later writes by an engine that never loads the keyword index (one that has it rebuilds it as it writes)
    async with await Engine.open(settings=settings) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "b.jsonl", [ORCHARD])])
        (orchard, _) = await engine.articles()
        assert await engine.remove(orchard.id)  # the bridge's passages again, two writes later
    builds = []
    original_build = KeywordIndex.build.__func__
    monkeypatch.setattr(KeywordIndex, "build", classmethod(lambda cls, ids, texts: builds.append(len(ids)) or original_build(cls, ids, texts)))
    async with await Engine.open(settings=settings) as engine:
        answer = await engine.ask("harbour bridge steel cables")
        assert answer.answers[0].article.title == "Harbour bridge reopens"
        assert builds == [2]


def fail_first_keyword_build(monkeypatch) -> list[int]:
    """Make the next keyword index build fail as on a full disk (later ones succeed); the passages of each attempt."""
    from newsdesk.index.search.keyword import KeywordIndex

    attempts = []
    original_build = KeywordIndex.build.__func__

    def build_failing_once(cls, ids, texts):
        attempts.append(len(ids))
        if len(attempts) == 1:
            raise OSError("No space left on device")
        return original_build(cls, ids, texts)

    monkeypatch.setattr(KeywordIndex, "build", classmethod(build_failing_once))
    return attempts


async def test_a_failed_background_keyword_rebuild_is_reported_and_tried_again(tmp_path: Path, monkeypatch, caplog):
    import newsdesk.index.search.live_keyword as live_keyword

    monkeypatch.setattr(live_keyword, "KEYWORD_REBUILD_WAITS_UP_TO", 0)  # every index counts as large
    monkeypatch.setattr(live_keyword, "KEYWORD_RETRY_SECONDS", 0.01)
    async with await Engine.open(settings=hashing_settings(tmp_path / "data")) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [BRIDGE])])
        await engine.ask("harbour bridge steel cables")
        attempts = fail_first_keyword_build(monkeypatch)
        await engine.ingest_paths([write_jsonl(tmp_path / "b.jsonl", [ORCHARD])])
        await engine.ask("record apple harvest in the valley")  # starts the rebuild in the background
        orchard_ids = {p.id for p in await engine.passages(range(1, 10)) if "cider apples" in p.text}

        async def orchard_found() -> bool:  # by the rebuilt keyword index: the old one has no orchard
            return set(await engine.rank_by_keyword("cider apples glut", 1)) == orchard_ids

        assert await eventually(orchard_found)
        assert attempts == [4, 4]
        (failure,) = [r for r in caplog.records if r.levelname == "ERROR"]
        assert "keyword index rebuild failed" in failure.getMessage() and "No space left" in failure.getMessage()


async def test_an_upload_whose_keyword_rebuild_fails_is_still_stored_and_the_next_question_rebuilds(
    tmp_path: Path, monkeypatch, caplog
):
    async with await Engine.open(settings=hashing_settings(tmp_path / "data")) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "a.jsonl", [BRIDGE])])
        await engine.ask("harbour bridge steel cables")  # the keyword index is loaded: the next writer rebuilds it
        attempts = fail_first_keyword_build(monkeypatch)
        report = await engine.ingest_paths([write_jsonl(tmp_path / "b.jsonl", [ORCHARD])])
        assert (report.articles_added, report.problems) == (1, [])
        (failure,) = [r for r in caplog.records if r.levelname == "ERROR"]
        assert "keyword index rebuild failed" in failure.getMessage() and "No space left" in failure.getMessage()
        orchard_ids = {p.id for p in await engine.passages(range(1, 10)) if "cider apples" in p.text}
        assert set(await engine.rank_by_keyword("cider apples glut", 1)) == orchard_ids
        assert attempts == [4, 4]
