"""A feed url is hostile: it may not reach the host's network (after DNS, on every redirect), nor take unbounded bytes or time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from newsdesk.index import Engine
from newsdesk.index.feeds import FeedRefused
from newsdesk.index.feeds.addresses import AddressPolicy

from tests.feed_server import FeedServer, stories
from tests.helpers import hashing_settings, with_feeds


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
