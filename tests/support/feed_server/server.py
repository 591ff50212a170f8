"""The loopback feed server: `async with FeedServer() as server:` serves on 127.0.0.1 at `server.base`.

Stories can be changed, added and deleted while it runs, as a newsroom would; it counts
the requests it answers, per path, and which of them carried conditional-GET validators.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

from aiohttp import web

from . import documents
from .documents import Story


class FeedServer:
    def __init__(self, stories: list[Story]):
        self.stories = list(stories)
        self.requests: Counter[str] = Counter()
        self.not_modified = 0
        # ETags (a hash of the body) are sent unless a test turns them off, as some servers do.
        self.validators = True
        # What the feeds answer instead of a feed (an HTTP status, or "html"), and pages gone from the site.
        self.feeds_answer: int | str | None = None
        self.missing_pages: set[str] = set()
        # The feeds' own title (None: each format's usual one), and links given instead of a story's page, by slug.
        self.feed_title: str | None = None
        self.links: dict[str, str] = {}
        # A page's canonical link by slug, instead of its own url (None: the page has none).
        self.canonical: dict[str, str | None] = {}
        # Each page answers after this many seconds, so fetches overlap; the most ever answered at once.
        self.page_delay = 0.0
        self.pages_at_once = 0
        self._pages_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    async def __aenter__(self) -> "FeedServer":
        app = web.Application()
        routes = {
            "/rss": self._rss, "/rss-full": self._rss_full, "/atom": self._atom, "/feed.json": self._json,
            "/articles/{slug}": self._article, "/status/{code}": self._status, "/slow": self._slow, "/huge": self._huge, "/redirect": self._redirect, "/hops/{n}": self._hops,
            "/static/{name}": self._static, "/declared/{encoding}": self._declared, "/charset/{encoding}": self._charset,
        }
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    def story(self, slug: str) -> Story:
        return next(s for s in self.stories if s.slug == slug)

    # --- feeds ---------------------------------------------------------------------

    def _count(self, request: web.Request) -> None:
        self.requests[request.path] += 1

    def _conditional(self, request: web.Request, body: bytes, content_type: str) -> web.Response:
        self._count(request)
        if self.feeds_answer == "html":
            page = documents.article_page(self.stories[0], self.url(f"/articles/{self.stories[0].slug}"))
            return web.Response(body=page, content_type="text/html")
        if isinstance(self.feeds_answer, int):
            retry = {"Retry-After": "3600"} if self.feeds_answer == 503 else {}
            return web.Response(status=self.feeds_answer, headers=retry, text="trouble")
        if not self.validators:
            return web.Response(body=body, content_type=content_type, charset="utf-8")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers={"ETag": etag})

    def _rss_document(self, **options) -> bytes:
        titled = {"title": self.feed_title} if self.feed_title is not None else {}
        return documents.rss(self.stories, self.base, links=self.links, **titled, **options)

    async def _rss(self, request: web.Request) -> web.Response:
        return self._conditional(request, self._rss_document(), "application/rss+xml")

    async def _rss_full(self, request: web.Request) -> web.Response:
        return self._conditional(request, self._rss_document(full_text=True), "application/rss+xml")

    async def _atom(self, request: web.Request) -> web.Response:
        self._count(request)
        return web.Response(body=documents.atom(self.stories, self.base), content_type="application/atom+xml")

    async def _json(self, request: web.Request) -> web.Response:
        self._count(request)
        titled = {"title": self.feed_title} if self.feed_title is not None else {}
        return web.Response(body=documents.json_feed(self.stories, self.base, **titled), content_type="application/feed+json")

    async def _declared(self, request: web.Request) -> web.Response:
        """The full-text RSS feed, its XML declaration naming /declared/{encoding}."""
        self._count(request)
        body = self._rss_document(full_text=True, encoding=request.match_info["encoding"])
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

    async def _charset(self, request: web.Request) -> web.Response:
        """The full-text RSS feed with no encoding declared, its Content-Type naming charset /charset/{encoding}."""
        self._count(request)
        body = self._rss_document(full_text=True).replace(b' encoding="UTF-8"', b"")
        return web.Response(body=body, headers={"Content-Type": f"application/rss+xml; charset={request.match_info['encoding']}"})

    async def _article(self, request: web.Request) -> web.Response:
        self._count(request)
        slug = request.match_info["slug"]
        if slug in self.missing_pages or not any(s.slug == slug for s in self.stories):
            raise web.HTTPNotFound()
        self._pages_in_flight += 1
        self.pages_at_once = max(self.pages_at_once, self._pages_in_flight)
        try:
            await asyncio.sleep(self.page_delay)
        finally:
            self._pages_in_flight -= 1
        canonical = self.canonical.get(slug, self.url(f"/articles/{slug}"))
        return web.Response(body=documents.article_page(self.story(slug), canonical), content_type="text/html")

    # --- hostile and broken answers ---------------------------------------------------

    async def _status(self, request: web.Request) -> web.Response:
        self._count(request)
        return web.Response(status=int(request.match_info["code"]), text="server trouble")

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        """A slow drip: a byte every half second, for ever."""
        self._count(request)
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        try:
            while True:
                await response.write(b" ")
                await asyncio.sleep(0.5)
        except ConnectionError:  # the client gave up, as it should
            return response

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        """An endless body with no declared length."""
        self._count(request)
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        try:
            while True:
                await response.write(chunk)
        except ConnectionError:  # the client gave up, as it should
            return response

    async def _redirect(self, request: web.Request) -> web.Response:
        """Redirect to the url in ?to= (a hostile feed pointing at the host's own network)."""
        self._count(request)
        raise web.HTTPFound(request.query["to"])

    async def _hops(self, request: web.Request) -> web.Response:
        """/hops/N redirects N times (relative Locations), then to the RSS feed."""
        self._count(request)
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/hops/{n - 1}" if n > 1 else "/rss")

    async def _static(self, request: web.Request) -> web.Response:
        """Fixed documents: an entity bomb, an external entity, HTML, a wrong type, bad charsets, bad feeds."""
        self._count(request)
        name = request.match_info["name"]
        now = dt.datetime.now(dt.timezone.utc)
        served = {
            "bomb.xml": (documents.ENTITY_BOMB, "application/rss+xml"),
            "external.xml": (documents.EXTERNAL_ENTITY, "application/rss+xml"),
            "page.html": (documents.article_page(self.stories[0], self.url(f"/articles/{self.stories[0].slug}")), "text/html"),
            "image.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
            "latin1-as-utf8.xml": (documents.rss(self.stories, self.base).replace(b"Gazette", b"Gazett\xe9"), "application/rss+xml"),
            "latin1.xml": (
                documents.rss(self.stories[:1], self.base, title="Caf\u00e9 News")
                .replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
                .replace("Caf\u00e9".encode(), b"Caf\xe9"),
                "application/rss+xml",
            ),
            "truncated.xml": (documents.rss(self.stories, self.base)[:-40], "application/rss+xml"),
            "not-a-feed.xml": (b'<?xml version="1.0"?><catalog><book>Dune</book></catalog>', "application/xml"),
            "not-a-feed.json": (b'{"name": "a config file"}', "application/json"),
            "odd-entries.json": (documents.odd_entries(self.stories[0], self.base, now), "application/feed+json"),
            "big-number.json": (documents.big_number_feed(self.stories[0], self.base), "application/feed+json"),
        }
        if name not in served:
            raise web.HTTPNotFound()
        body, content_type = served[name]
        return web.Response(body=body, headers={"Content-Type": content_type})


@contextmanager
def serving_in_thread(stories: list[Story]) -> Iterator[FeedServer]:
    """The server on its own event loop in a thread, for code that runs its own loop (the CLI's asyncio.run)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FeedServer(stories)
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
