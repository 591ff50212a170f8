"""Feeds taken in from the tests' own loopback server: formats, full articles, dedupe, updates, polling manners.

Tests on the `engine` fixture run once per storage backend (`storage_backend`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsdesk.index import Engine, load_settings
from newsdesk.index.feeds import FeedRefused, is_failing

from tests.support.engines import db_rows, hashing_settings, with_feeds
from tests.support.feed_server import FeedServer, days_ago, many_stories, stories


@pytest.fixture
async def server():
    async with FeedServer(stories()) as server:
        yield server


async def open_engine(data_dir: Path, backend: str = "sqlite", **feeds) -> Engine:
    settings = with_feeds(hashing_settings(data_dir, backend), allow_private_addresses=True, timeout_seconds=5, **feeds)
    return await Engine.open(settings=settings)


@pytest.fixture
async def engine(tmp_path: Path, storage_backend: str):
    engine = await open_engine(tmp_path / "data", storage_backend)
    yield engine
    await engine.close()


async def texts(engine: Engine, scope: str | None = None) -> dict[str, str]:
    """Stored article text by title."""
    articles = await engine.articles([scope] if scope else None)
    return {a.title: (await engine.article(a.id)).text for a in articles}


async def test_rss_teasers_become_full_articles_from_the_linked_pages(engine: Engine, server: FeedServer):
    added = await engine.feeds.add(server.url("/rss"))
    assert (added.feed.title, added.entries) == ("Harbour Gazette", 3)
    assert await engine.articles() == []  # validated now, taken in by the poll
    (report,) = await engine.feeds.poll_due()
    assert sorted(report.added) == ["Council approves new tram line", "Ferry to Grey Island resumes", "Old lighthouse becomes a museum"]
    ferry = next(a for a in await engine.articles() if a.title == "Ferry to Grey Island resumes")
    text = (await engine.article(ferry.id)).text
    for paragraph in server.story("grey-island-ferry").paragraphs:
        assert paragraph in text
    assert "newsletter" not in text and "Sport" not in text  # the page's furniture is not the article
    assert ferry.url == server.url("/articles/grey-island-ferry")  # canonical: no utm_source
    assert ferry.source == "Harbour Gazette"
    published = server.story("grey-island-ferry").published
    assert ferry.date == published.date().isoformat()
    assert await db_rows(engine.settings, "SELECT published FROM feed_items WHERE guid = 'story-grey-island-ferry'") == [
        (published.isoformat(),)
    ]
    answer = await engine.ask("When will the ferry to Grey Island run again?")
    assert "twice a day from 3 December" in answer.answers[0].quote


@pytest.mark.parametrize("path", ["/atom", "/feed.json", "/rss-full"])
async def test_feeds_carrying_the_article_are_taken_in_without_fetching_pages(engine: Engine, server: FeedServer, path):
    await engine.feeds.add(server.url(path))
    (report,) = await engine.feeds.poll_due()
    assert len(report.added) == 3 and report.problems == []
    assert texts_match(await texts(engine), server)
    assert not any(p.startswith("/articles/") for p in server.requests)


def texts_match(stored: dict[str, str], server: FeedServer) -> bool:
    return stored == {s.title: s.body for s in server.stories}


async def test_one_story_from_several_feeds_is_stored_once(engine: Engine, server: FeedServer):
    for path in ("/rss", "/atom", "/feed.json"):
        await engine.feeds.add(server.url(path))
    reports = await engine.feeds.poll_due()
    assert sum(len(r.added) for r in reports) == 3
    assert sum(r.duplicates for r in reports) == 6
    assert len(await engine.articles()) == 3
    assert [f.articles for f in await engine.feeds.list()] == [3, 3, 3]


async def test_a_servers_feeds_are_its_scope(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/atom"), scope="111")
    await engine.feeds.add(server.url("/atom"), scope="222")
    await engine.feeds.poll_due()
    assert len(await engine.articles(["111"])) == 3 and len(await engine.articles(["222"])) == 3
    assert [f.scope for f in await engine.feeds.list(["111"])] == ["111"]
    with pytest.raises(FeedRefused, match="already subscribed"):
        await engine.feeds.add(server.url("/atom"), scope="111")
    feed_of_222 = (await engine.feeds.list(["222"]))[0]
    assert await engine.feeds.remove(feed_of_222.id, scopes=["111"]) is None  # another server's feed


async def test_an_unchanged_feed_is_asked_conditionally_and_adds_nothing(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/rss"))
    await engine.feeds.poll_due()
    page_fetches = server.requests["/articles/grey-island-ferry"]
    (report,) = await engine.feeds.poll_due(everything=True)
    assert report.not_modified and server.not_modified == 1
    server.validators = False  # a server without validators sends the same feed again
    (report,) = await engine.feeds.poll_due(everything=True)
    assert (report.added, report.updated, report.unchanged) == ([], [], 3)
    assert server.requests["/articles/grey-island-ferry"] == page_fetches  # unchanged entries are not fetched again
    assert len(await engine.articles()) == 3


async def test_an_updated_item_replaces_its_earlier_version(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/rss-full"))
    await engine.feeds.poll_due()
    ferry = server.story("grey-island-ferry")
    old = ferry.paragraphs[0]
    ferry.paragraphs[0] = old.replace("from 3 December", "from 10 December, a week later than planned,")
    (report,) = await engine.feeds.poll_due(everything=True)
    assert report.updated == ["Ferry to Grey Island resumes"] and report.added == []
    stored = await texts(engine)
    assert len(stored) == 3 and stored["Ferry to Grey Island resumes"] == ferry.body
    assert await db_rows(engine.settings, "SELECT COUNT(*) FROM articles WHERE text LIKE '%' || $1 || '%'", old) == [(0,)]
    assert await db_rows(engine.settings, "SELECT COUNT(*) FROM feed_items") == [(3,)]
    answer = await engine.ask("When will the ferry to Grey Island run again?")
    assert "from 10 December" in answer.answers[0].quote


async def test_a_deleted_item_keeps_its_article_and_a_missing_page_falls_back_to_the_teaser(
    engine: Engine, server: FeedServer
):
    await engine.feeds.add(server.url("/rss"))
    await engine.feeds.poll_due()
    server.stories.remove(server.story("tram-line-vote"))  # feeds roll over: gone from the feed is not retracted
    late = stories()[2]
    late.slug, late.title, late.teaser = "harbour-dredging", "Harbour dredging starts", "Dredgers arrive on Monday."
    server.stories.append(late)
    server.missing_pages.add("harbour-dredging")
    (report,) = await engine.feeds.poll_due(everything=True)
    assert report.added == ["Harbour dredging starts"] and report.problems == []
    stored = await texts(engine)
    assert "Council approves new tram line" in stored
    assert stored["Harbour dredging starts"] == "Dredgers arrive on Monday."


async def test_keep_days_prunes_old_feed_articles_and_does_not_take_them_again(tmp_path: Path, server: FeedServer):
    server.story("grey-island-ferry").published = days_ago(40)
    engine = await open_engine(tmp_path / "data", keep_days=30)
    try:
        await engine.feeds.add(server.url("/atom"))
        await engine.feeds.poll_due()
        assert sorted(await texts(engine)) == ["Council approves new tram line", "Old lighthouse becomes a museum"]
        server.validators = False
        await engine.feeds.poll_due(everything=True)
        assert len(await engine.articles()) == 2
    finally:
        await engine.close()


async def test_entries_without_links_or_dated_in_the_future_are_skipped_with_a_clear_error(
    engine: Engine, server: FeedServer
):
    await engine.feeds.add(server.url("/static/odd-entries.json"))
    (report,) = await engine.feeds.poll_due()
    assert report.added == ["Ferry to Grey Island resumes"]
    (feed,) = await engine.feeds.list()
    assert "entry 'Linkless notice' has no link" in feed.last_error
    assert "entry \"Tomorrow's news today\" is dated" in feed.last_error and "in the future" in feed.last_error
    assert feed.failures == 0 and feed.last_success_at


@pytest.mark.parametrize(
    "path, reason",
    [
        ("/static/bomb.xml", "declares XML entities"),
        ("/static/external.xml", "declares XML entities"),
        ("/static/page.html", "this is an HTML page, not a feed"),
        ("/static/image.png", "the server says this is image/png, not a feed"),
        ("/static/latin1-as-utf8.xml", "not valid UTF-8 text (byte 0xe9"),
        ("/static/truncated.xml", "not well-formed XML"),
        ("/static/not-a-feed.xml", "not an RSS or Atom feed"),
        ("/static/not-a-feed.json", "not a JSON Feed"),
        ("/status/500", "answered HTTP 500"),
        ("/status/404", "answered HTTP 404"),
        ("/nowhere", "answered HTTP 404"),
    ],
)
async def test_what_is_not_a_readable_feed_is_refused_with_its_reason(engine: Engine, server: FeedServer, path, reason):
    with pytest.raises(FeedRefused, match=reason.replace("(", r"\(")):
        await engine.feeds.add(server.url(path))
    assert await engine.feeds.list() == [] and await engine.articles() == []


async def test_a_feed_in_another_character_set_is_read_in_it(engine: Engine, server: FeedServer):
    added = await engine.feeds.add(server.url("/static/latin1.xml"))
    assert added.feed.title == "Café News"


async def test_a_feed_that_breaks_keeps_its_articles_and_says_why(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/rss-full"))
    await engine.feeds.poll_due()
    server.feeds_answer = "html"
    (report,) = await engine.feeds.poll_due(everything=True)
    assert report.error == "this is an HTML page, not a feed (give the url of its RSS, Atom or JSON feed)"
    (feed,) = await engine.feeds.list()
    assert feed.last_error == report.error and feed.failures == 1
    assert len(await engine.articles()) == 3


async def test_a_failing_feed_backs_off_is_marked_and_is_not_retried_in_a_tight_loop(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/rss-full"))
    await engine.feeds.poll_due()
    server.feeds_answer = 500
    interval = engine.feeds.settings.poll_seconds
    for failures in (1, 2, 3):
        await engine.feeds.poll_due(everything=True)
        (feed,) = await engine.feeds.list()
        assert feed.failures == failures and "answered HTTP 500" in feed.last_error
        assert feed.next_poll_at - feed.last_polled_at == pytest.approx(interval * 2 ** (failures - 1))
    assert is_failing(feed, engine.feeds.settings)
    asked = server.requests["/rss-full"]
    assert await engine.feeds.poll_due() == []  # not due: nothing is asked
    assert server.requests["/rss-full"] == asked
    server.feeds_answer = None
    await engine.feeds.poll_due(everything=True)
    (feed,) = await engine.feeds.list()
    assert (feed.failures, feed.last_error) == (0, None) and not is_failing(feed, engine.feeds.settings)


async def test_retry_after_is_honoured(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/rss-full"))
    server.feeds_answer = 503
    before = time.time()
    await engine.feeds.poll_due()
    (feed,) = await engine.feeds.list()
    assert feed.next_poll_at >= before + 3600 and "answered HTTP 503" in feed.last_error


async def test_a_feeds_interval_overrides_the_default(engine: Engine, server: FeedServer):
    await engine.feeds.add(server.url("/rss-full"), interval_seconds=30)
    await engine.feeds.poll_due()
    (feed,) = await engine.feeds.list()
    assert feed.next_poll_at - feed.last_polled_at == pytest.approx(30)


async def test_removing_a_feed_can_remove_its_articles(engine: Engine, server: FeedServer):
    kept = await engine.feeds.add(server.url("/atom"), scope="111")
    dropped = await engine.feeds.add(server.url("/rss-full"), scope="222")
    await engine.feeds.poll_due()
    removed = await engine.feeds.remove(dropped.feed.id, remove_articles=True)
    assert removed.articles_removed == 3
    assert await engine.articles(["222"]) == [] and len(await engine.articles(["111"])) == 3
    assert await engine.feeds.remove(kept.feed.id) is not None
    assert len(await engine.articles(["111"])) == 3  # without the option its articles stay
    assert await db_rows(engine.settings, "SELECT COUNT(*) FROM feed_items") == [(0,)]


async def test_feeds_listed_in_the_config_are_global_and_polled(tmp_path: Path, server: FeedServer):
    engine = await open_engine(tmp_path / "data", urls=(server.url("/atom"),))
    try:
        await engine.feeds.sync_config()
        await engine.feeds.sync_config()  # once subscribed, not again
        (report,) = await engine.feeds.poll_due()
        (feed,) = await engine.feeds.list()
        assert (feed.scope, feed.added_by, feed.title, feed.articles) == ("global", "config", "Valley Times", 3)
        assert len(report.added) == 3 and len(await engine.articles(["global"])) == 3
    finally:
        await engine.close()


def test_poll_seconds_below_one_is_refused_in_the_config(tmp_path: Path):
    config = tmp_path / "fast.toml"
    config.write_text("[feeds]\npoll_seconds = 0\n")
    with pytest.raises(ValueError, match=r"\[feeds\] poll_seconds must be at least 1"):
        load_settings(config)
    config.write_text("[feeds]\npoll_seconds = 1\n")
    assert load_settings(config).feeds.poll_seconds == 1


async def test_pages_without_a_canonical_link_are_taken_and_articles_keep_the_fetched_url(
    engine: Engine, server: FeedServer
):
    """Summary-only RSS pointing at plain pages; one page claims another publisher's address."""
    server.canonical = {s.slug: None for s in server.stories}
    server.canonical["lighthouse-museum"] = "https://another-publisher.example/their-scoop"
    await engine.feeds.add(server.url("/rss"))
    for _ in range(2):  # every poll, not only the first
        (report,) = await engine.feeds.poll_due(everything=True)
        assert (report.error, report.problems) == (None, [])
        server.validators = False  # the second poll reads the feed again
    (feed,) = await engine.feeds.list()
    assert (feed.failures, feed.last_error, feed.articles) == (0, None, 3)
    fetched = {s.title: server.url(f"/articles/{s.slug}") for s in server.stories}
    assert {a.title: a.url for a in await engine.articles()} == fetched
    assert sorted(await db_rows(engine.settings, "SELECT url FROM feed_items")) == sorted((url,) for url in fetched.values())
    assert await db_rows(engine.settings, "SELECT COUNT(*) FROM articles WHERE url LIKE '%another-publisher%'") == [(0,)]
    for story in server.stories:
        assert story.paragraphs[0] in (await texts(engine))[story.title]


async def test_a_poll_takes_the_newest_items_only_and_says_so(tmp_path: Path):
    archive = many_stories(30)
    async with FeedServer(archive[::-1]) as server:  # oldest first: the feed's order is not what counts
        engine = await open_engine(tmp_path / "data", max_items_per_poll=10)
        try:
            added = await engine.feeds.add(server.url("/feed.json"))
            note = (
                "the feed holds 30 items: only the newest 10 are taken ([feeds] max_items_per_poll = 10), "
                "the 20 older ones are dropped"
            )
            assert (added.entries, added.limited) == (30, note)
            (report,) = await engine.feeds.poll_due()
            newest = sorted(s.title for s in archive[:10])
            assert sorted(report.added) == newest and report.limited == note
            (feed,) = await engine.feeds.list()
            assert (feed.failures, feed.last_error) == (0, note)
            (report,) = await engine.feeds.poll_due(everything=True)
            assert (report.added, report.unchanged) == ([], 10)
            assert sorted(a.title for a in await engine.articles()) == newest
        finally:
            await engine.close()


async def test_page_fetches_of_a_poll_are_bounded(tmp_path: Path):
    async with FeedServer(many_stories(8)) as server:
        server.page_delay = 0.05  # each page takes a while, so unbounded fetches would all overlap
        engine = await open_engine(tmp_path / "data", per_host_concurrency=8, page_fetches_at_once=2)
        try:
            await engine.feeds.add(server.url("/rss"))
            (report,) = await engine.feeds.poll_due()
            assert len(report.added) == 8 and report.problems == []
            assert sum(n for path, n in server.requests.items() if path.startswith("/articles/")) == 8
            assert server.pages_at_once == 2
        finally:
            await engine.close()


async def test_a_server_at_its_feed_limit_is_told_so_and_keeps_its_feeds(tmp_path: Path, server: FeedServer):
    engine = await open_engine(tmp_path / "data", max_feeds_per_server=2)
    try:
        for path in ("/rss-full", "/atom"):
            await engine.feeds.add(server.url(path), scope="111")
        await engine.feeds.poll_due()
        with pytest.raises(FeedRefused) as refused:
            await engine.feeds.add(server.url("/feed.json"), scope="111")
        assert str(refused.value) == (
            "this server already has 2 feeds, the most allowed ([feeds] max_feeds_per_server = 2); remove one to add another"
        )
        assert server.requests["/feed.json"] == 0  # refused before fetching
        assert [f.url for f in await engine.feeds.list(["111"])] == [server.url("/rss-full"), server.url("/atom")]
        assert len(await engine.articles(["111"])) == 3
        assert (await engine.feeds.add(server.url("/feed.json"), scope="222")).feed.scope == "222"  # per server
    finally:
        await engine.close()
