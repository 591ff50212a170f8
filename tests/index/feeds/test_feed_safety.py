"""A feed url is hostile: it may not reach the host's network (after DNS, on every redirect), nor take unbounded bytes or time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from newsdesk.index import Engine
from newsdesk.index.feeds import FeedRefused
from newsdesk.index.feeds.addresses import AddressPolicy

from tests.support.engines import db_rows, hashing_settings, with_feeds
from tests.support.feed_server import FeedServer, Story, stories


@pytest.fixture
async def server():
    async with FeedServer(stories()) as server:
        yield server


@pytest.fixture
async def open_engine(tmp_path: Path):
    engines = []

    async def open_with(**feeds) -> Engine:
        data_dir = tmp_path / f"data{len(engines)}"
        engines.append(await Engine.open(settings=with_feeds(hashing_settings(data_dir), **feeds)))
        return engines[-1]

    yield open_with
    for engine in engines:
        await engine.close()


async def refused(engine: Engine, url: str) -> str:
    with pytest.raises(FeedRefused) as caught:
        await engine.feeds.add(url)
    assert url not in [f.url for f in await engine.feeds.list()]
    return str(caught.value)


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("2002:7f00:1::1", "6to4"),  # 6to4 wrapping 127.0.0.1
        ("2002:808:808::1", "6to4"),  # wrapping a public address: refused all the same
        ("192.0.0.9", "protocol-assignment"),
        ("192.0.0.170", "protocol-assignment"),
        ("::ffff:192.0.0.8", "protocol-assignment"),
    ],
)
def test_non_public_addresses_are_refused_by_name(address, kind):
    assert AddressPolicy(allow_private=False).refusal(address) == f"a {kind} address"
    assert AddressPolicy(allow_private=True).refusal(address) is None


def test_public_addresses_pass_and_allowed_networks_open_only_themselves():
    assert AddressPolicy(False).refusal("93.184.216.34") is None
    assert AddressPolicy(False).refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    policy = AddressPolicy(False, ["127.0.0.1/32"])
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("127.0.0.2") == "a loopback address"


async def test_a_loopback_feed_is_refused_unless_allowed(open_engine, server: FeedServer):
    engine = await open_engine()
    reason = await refused(engine, server.url("/rss"))
    assert reason == "refused: 127.0.0.1 is a loopback address; only public addresses are fetched"
    assert server.requests == {}  # not even connected to
    allowed = await open_engine(allow_private_addresses=True)
    assert (await allowed.feeds.add(server.url("/rss"))).feed.title == "Harbour Gazette"


async def test_a_name_is_checked_after_dns(open_engine, server: FeedServer):
    engine = await open_engine()
    reason = await refused(engine, server.url("/rss").replace("127.0.0.1", "localhost"))
    assert reason.startswith("refused: localhost resolves to ") and "a loopback address" in reason
    assert server.requests == {}


async def test_every_redirect_is_checked(open_engine, server: FeedServer):
    # 127.0.0.1 stands for a public server here; the redirect points into the host's loopback network
    engine = await open_engine(allowed_networks=["127.0.0.1/32"])
    port = server.base.rsplit(":", 1)[1]
    target = f"http://127.0.0.2:{port}/rss"
    reason = await refused(engine, server.url(f"/redirect?to={quote(target)}"))
    assert reason == "refused: 127.0.0.2 is a loopback address; only public addresses are fetched"
    assert server.requests == {"/redirect": 1}
    assert "only http and https" in await refused(engine, server.url(f"/redirect?to={quote('file:///etc/passwd')}"))
    assert server.requests["/rss"] == 0


async def test_a_redirect_is_followed_when_allowed_up_to_the_limit(open_engine, server: FeedServer):
    engine = await open_engine(allow_private_addresses=True, max_redirects=2)
    assert (await engine.feeds.add(server.url("/hops/2"))).feed.title == "Harbour Gazette"
    assert await refused(engine, server.url("/hops/3")) == f"{server.url('/hops/3')} redirected more than 2 times"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "gopher://example.org/", "rss", ""])
async def test_only_http_urls_are_taken(open_engine, url):
    engine = await open_engine(allow_private_addresses=True)
    assert "is not an http(s) url" in await refused(engine, url)


@pytest.mark.parametrize("url", ["http://example.org/" + "a" * 3000, "http://example.org/\x1b[2Jfeed", "http://example.org/\u202efeed"])
async def test_a_feed_url_too_long_or_with_control_characters_is_refused_trimmed(open_engine, url):
    engine = await open_engine(allow_private_addresses=True)
    reason = await refused(engine, url)
    assert reason.endswith(" is over 2,048 characters long or holds control characters") and len(reason) < 150
    assert "\x1b" not in reason and "\u202e" not in reason


async def test_a_slow_drip_server_is_cut_off(open_engine, server: FeedServer):
    engine = await open_engine(allow_private_addresses=True, timeout_seconds=1)
    assert await refused(engine, server.url("/slow")) == f"{server.url('/slow')} did not answer in full within 1 seconds"


async def test_a_huge_body_is_cut_off(open_engine, server: FeedServer):
    engine = await open_engine(allow_private_addresses=True, max_feed_bytes=200_000)
    assert await refused(engine, server.url("/huge")) == f"{server.url('/huge')} is over the 200,000-byte limit"


async def test_an_entity_bomb_is_refused_before_parsing(open_engine, server: FeedServer):
    engine = await open_engine(allow_private_addresses=True)
    for path in ("/static/bomb.xml", "/static/external.xml"):
        reason = await refused(engine, server.url(path))
        assert reason == "the feed declares XML entities or external references, which are refused"


async def test_an_article_page_is_fetched_under_the_same_rules(open_engine, server: FeedServer):
    """A teaser's link into a refused address is not fetched: the teaser is stored instead."""
    engine = await open_engine(allow_private_addresses=True, max_page_bytes=100)
    await engine.feeds.add(server.url("/rss"))
    (report,) = await engine.feeds.poll_due()
    assert len(report.added) == 3
    stored = {a.title: (await engine.article(a.id)).text for a in await engine.articles()}
    assert stored["Ferry to Grey Island resumes"] == "The island ferry returns next month."


@pytest.mark.parametrize(
    "host, kind", [("[2002:7f00:1::1]", "6to4"), ("192.0.0.9", "protocol-assignment")]
)
async def test_a_feed_on_a_6to4_or_protocol_assignment_address_is_refused_unfetched(open_engine, host, kind):
    engine = await open_engine()
    reason = await refused(engine, f"http://{host}:8080/rss")
    assert reason == f"refused: {host.strip('[]')} is a {kind} address; only public addresses are fetched"


BAD_LINKS = {
    "bracket": "http://[::1",
    "port": "http://example.org:99999/news",
    "script": "javascript:alert(1)",
    "long": "http://example.org/" + "a" * 5000,
}


async def test_an_item_with_a_bad_link_is_skipped_and_the_others_are_taken_on_every_poll(
    open_engine, server: FeedServer
):
    good = [s.title for s in server.stories]
    for name, link in BAD_LINKS.items():
        server.stories.append(Story(name, f"Bad link {name}", "A teaser.", ["A paragraph of its own."], server.stories[0].published))
        server.links[name] = link
    engine = await open_engine(allow_private_addresses=True)
    await engine.feeds.add(server.url("/rss-full"))
    expected = [
        "entry 'Bad link bracket' has a link that is not a valid url ('http://[::1': Invalid IPv6 URL)",
        "entry 'Bad link port' has a link that is not a valid url ('http://example.org:99999/news': Port out of range 0-65535)",
        "entry 'Bad link script' has a link that is not an http(s) url ('javascript:alert(1)')",
        "entry 'Bad link long' has a link 5,019 characters long; over 2,048 is refused",
    ]
    for _ in range(2):
        (report,) = await engine.feeds.poll_due(everything=True)
        assert report.error is None and sorted(report.problems) == sorted(expected)
        server.validators = False  # the second poll reads the feed again
    assert sorted(a.title for a in await engine.articles()) == sorted(good)
    assert await db_rows(engine.settings, "SELECT COUNT(*) FROM feed_items") == [(3,)]
    (feed,) = await engine.feeds.list()
    assert feed.failures == 0 and feed.last_error.endswith("(and 1 more)") and len(feed.last_error) < 600


NOT_CHARSETS = ["zlib", "base64", "hex", "bz2", "rot13", "utf-7", "idna", "punycode", "undefined", "unicode_escape"]


@pytest.mark.parametrize("where", ["declared", "charset"])
@pytest.mark.parametrize("encoding", NOT_CHARSETS)
async def test_a_feed_in_what_is_no_text_encoding_is_refused_in_one_line(open_engine, server: FeedServer, where, encoding):
    engine = await open_engine(allow_private_addresses=True)
    reason = await refused(engine, server.url(f"/{where}/{encoding}"))
    assert reason == f"the feed's character set '{encoding}' is not a text encoding feeds are read in"
    assert await engine.articles() == []


async def test_a_polled_feed_in_no_text_encoding_fails_that_poll_in_one_line(open_engine, server: FeedServer):
    engine = await open_engine(allow_private_addresses=True, urls=(server.url("/declared/utf-7"),))
    await engine.feeds.sync_config()
    (report,) = await engine.feeds.poll_due()
    assert report.error == "the feed's character set 'utf-7' is not a text encoding feeds are read in"
    (feed,) = await engine.feeds.list()
    assert (feed.failures, feed.last_error) == (1, report.error)
    assert await engine.articles() == []


async def test_a_json_feed_with_a_5000_digit_number_is_refused_in_one_line(open_engine, server: FeedServer):
    engine = await open_engine(allow_private_addresses=True)
    reason = await refused(engine, server.url("/static/big-number.json"))
    assert reason == "the JSON feed holds a number 5,000 characters long; over 40 is refused"
    assert await engine.articles() == []


@pytest.mark.parametrize("path", ["/feed.json", "/rss-full"])
async def test_control_and_bidi_characters_are_stripped_from_names_and_no_entry_is_refused(
    open_engine, server: FeedServer, path
):
    server.feed_title = "\x1b[31mRed Alert\x1b[0m Gazette\u202e"
    ferry = server.story("grey-island-ferry")
    ferry.title = "Ferry\x00 to Grey\u202e Island\x07 resumes\x85"
    ferry.paragraphs[0] = "\x1b[2J" + ferry.paragraphs[0]
    engine = await open_engine(allow_private_addresses=True)
    added = await engine.feeds.add(server.url(path))
    assert added.feed.title == "Red Alert Gazette"
    (report,) = await engine.feeds.poll_due()
    assert report.problems == [] and len(report.added) == 3
    assert "Ferry to Grey Island resumes" in report.added
    articles = {a.title: a for a in await engine.articles()}
    assert sorted(articles) == sorted(["Ferry to Grey Island resumes", *(s.title for s in server.stories[1:])])
    assert {a.source for a in articles.values()} == {"Red Alert Gazette"}
    ferry_text = (await engine.article(articles["Ferry to Grey Island resumes"].id)).text
    assert ferry_text.startswith("The ferry to Grey Island will run") and "\x1b" not in ferry_text
    assert [f.title for f in await engine.feeds.list()] == ["Red Alert Gazette"]
