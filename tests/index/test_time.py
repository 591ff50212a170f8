"""Questions that know the time: date ranges inside the search, recency, timelines; and new-article events.

Each runs once per storage backend (`storage_backend`): the date range narrows both searches in either."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsdesk.index import Engine, QuestionError
from newsdesk.index.events import ArticlesAdded
from tests.support.dated_news import NOW, STORY, STRIKE_BEGINS, STRIKE_ENDS, STRIKE_STALLS, older_reports
from tests.support.engines import ORCHARD, hashing_settings, write_jsonl


async def open_engine(data_dir: Path, backend: str, **retrieval) -> Engine:
    engine = await Engine.open(settings=hashing_settings(data_dir, backend, **retrieval))
    engine.clock = lambda: dt.datetime.fromisoformat(NOW)
    return engine


@pytest.fixture
async def engine(tmp_path: Path, storage_backend: str):
    engine = await open_engine(tmp_path / "data", storage_backend)
    await engine.ingest_paths([write_jsonl(tmp_path / "story.jsonl", [*STORY, ORCHARD])])
    yield engine
    await engine.close()


def titles(answer) -> list[str]:
    return [quote.article.title for quote in answer.answers]


async def test_since_and_until_keep_only_articles_dated_within(engine: Engine):
    question = "what happened in the lakeside ferry strike over pay?"
    assert set(titles(await engine.ask(question, k=5))) == {a["title"] for a in STORY}
    recent = await engine.ask(question, k=5, since="2024-01-01")
    assert set(titles(recent)) == {STRIKE_STALLS["title"], STRIKE_ENDS["title"]}
    assert recent.period is not None and recent.period.describe() == "since 2024-01-01"
    assert titles(await engine.ask(question, k=5, until="2022-12-31")) == [STRIKE_BEGINS["title"]]
    # Ages count back from the engine's clock: 7 days before 2024-05-03 is 2024-04-26.
    assert titles(await engine.ask(question, k=5, since="7d")) == [STRIKE_ENDS["title"]]
    both_ends = await engine.ask(question, k=5, since="2024-04-20", until="2024-04-20")
    assert titles(both_ends) == [STRIKE_STALLS["title"]]


async def test_a_range_with_no_article_abstains(engine: Engine):
    answer = await engine.ask("what happened in the lakeside ferry strike?", since="2030-01-01")
    assert answer.abstained and answer.answers == []


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("last tuesday", None, "`since` must be a date like 2024-05-01 or an age like 7d"),
        (None, "2024-02-30", "`until` must be a date like 2024-05-01"),
        ("2024-05-01", "2024-04-01", "`until` (2024-04-01) is before `since` (2024-05-01)."),
    ],
)
async def test_unreadable_dates_are_refused_with_a_clear_message(engine: Engine, since, until, message):
    with pytest.raises(QuestionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await engine.ask("ferry strike", since=since, until=until)


async def test_the_range_narrows_the_search_not_a_shortlist(tmp_path: Path, storage_backend: str):
    """Thirty old bulletins outrank the one new report; with a shortlist of three, filtering it afterwards
    would leave nothing. The range is applied inside both searches, so the new report is found."""
    engine = await open_engine(tmp_path / "data", storage_backend, candidates=3, rerank_depth=3)
    try:
        await engine.ingest_paths([write_jsonl(tmp_path / "many.jsonl", [*older_reports(30), STRIKE_ENDS])])
        unlimited = await engine.ask("ferry strike", k=3)
        assert STRIKE_ENDS["title"] not in titles(unlimited)  # the premise: it is not among the best three
        assert titles(await engine.ask("ferry strike", k=3, since="2024-01-01")) == [STRIKE_ENDS["title"]]
    finally:
        await engine.close()


async def test_asking_for_the_latest_puts_the_newest_report_first(engine: Engine):
    plain = await engine.ask("ferry crews at the lakeside port began a strike over pay", k=3)
    assert titles(plain)[0] == STRIKE_BEGINS["title"]  # the best match, when time does not matter
    assert not plain.recent
    latest = await engine.ask("what is the latest: ferry crews at the lakeside port began a strike over pay", k=3)
    assert latest.recent and titles(latest)[0] == STRIKE_ENDS["title"]
    assert set(titles(latest)) <= set(titles(plain)) | {STRIKE_ENDS["title"], STRIKE_STALLS["title"]}
    threshold = engine.settings.retrieval.abstain_below
    assert all(quote.score >= threshold for quote in latest.answers)  # recency ranks; it never lets one in


async def test_today_limits_to_todays_articles_and_says_when_there_are_none(engine: Engine, tmp_path: Path):
    today = {**STRIKE_ENDS, "title": "Ferry timetable back to normal", "date": NOW[:10],
             "text": "The lakeside ferry timetable was back to normal today, two days after the strike ended."}
    await engine.ingest_paths([write_jsonl(tmp_path / "today.jsonl", [today])])
    answer = await engine.ask("what happened with the lakeside ferry strike today?", k=5)
    assert titles(answer) == [today["title"]] and answer.period.describe() == "on 2024-05-03"
    assert not answer.period_missed
    engine.clock = lambda: dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)  # a month on: nothing from that day
    later = await engine.ask("what happened with the lakeside ferry strike today?", k=5)
    assert later.period_missed and not later.abstained
    assert titles(later)[0] == today["title"]  # from any date, newest first


async def test_dated_quotes_give_one_quote_per_article_in_date_order(engine: Engine):
    timeline = await engine.dated_quotes("lakeside ferry strike pay", newest_first=False)
    assert [q.article.date for q in timeline] == ["2021-03-02", "2024-04-20", "2024-05-01"]
    latest = await engine.dated_quotes("lakeside ferry strike pay", newest_first=True, limit=2)
    assert [q.article.title for q in latest] == [STRIKE_ENDS["title"], STRIKE_STALLS["title"]]
    assert await engine.dated_quotes("volcanic eruption in iceland", newest_first=True) == []


async def test_listeners_hear_of_new_articles_after_commit(engine: Engine, tmp_path: Path):
    heard: list[ArticlesAdded] = []

    def listener(event: ArticlesAdded) -> None:
        heard.append(event)
        raise RuntimeError("a broken listener does not fail the upload")

    unsubscribe = engine.subscribe(listener)
    data = write_jsonl(tmp_path / "new.jsonl", [{**ORCHARD, "title": "Cider prices", "text": "Cider prices rose."}])
    report = await engine.ingest_document(data.read_bytes(), "new.jsonl", "guild-1")
    assert heard == [ArticlesAdded("guild-1", tuple(report.article_ids))] and len(report.article_ids) == 1
    assert (await engine.articles(["guild-1"]))[0].id == report.article_ids[0]  # committed when heard
    await engine.ingest_document(data.read_bytes(), "new.jsonl", "guild-1")  # a duplicate adds nothing: no event
    unsubscribe()
    await engine.ingest_document(b'{"title": "T", "text": "Another article."}\n', "more.jsonl", "guild-1")
    assert len(heard) == 1
