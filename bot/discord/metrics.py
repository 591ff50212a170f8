"""What an operator watches of a running bot: GET /metrics (Prometheus text format) and GET /healthz.

Served by `newsdesk run` on `[metrics] listen` (off by default) from the bot's own event loop,
with aiohttp's web server, so that /healthz can ask the engine's store whether it answers.
Each bot has a registry of its own (not prometheus-client's global one): several bots in one
process, as in the tests, count apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from newsdesk.index import Answer, Settings
from newsdesk.index.feeds import PollReport, feed_state
from newsdesk.index.settings import SettingsError, read_section

if TYPE_CHECKING:
    from newsdesk.index import Engine

log = logging.getLogger(__name__)

# How often the loop-lag probe wakes: how late it wakes is how long the loop was held up.
LAG_PROBE_SECONDS = 0.5
# The article and passage counts are COUNT(*) queries: refreshed by a scrape at most this often.
STORE_COUNTS_SECONDS = 30.0
# A health check whose store query takes longer than this is a failing store.
HEALTH_QUERY_SECONDS = 5.0
FEED_STATES = ("new", "ok", "error", "failing")


@dataclass(frozen=True)
class MetricsConfig:
    """`[metrics]` in config/default.toml; the comments there say what each key does."""

    listen: str = ""

    def __post_init__(self) -> None:
        if self.listen and not self.address():
            example = '"127.0.0.1:9464"'
            raise SettingsError(f"config: [metrics] listen must be HOST:PORT such as {example}, not {self.listen!r:.80}")

    def address(self) -> tuple[str, int] | None:
        """(host, port) of `listen`; None when it is empty or not HOST:PORT."""
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            return None
        return host.strip("[]"), int(port)  # "[::1]:9464" names an IPv6 host

    @classmethod
    def from_settings(cls, settings: Settings) -> "MetricsConfig":
        return read_section(cls, settings.extra.get("metrics", {}), "metrics")


class BotMetrics:
    """The bot's instruments, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter(
            "newsdesk_questions", "Questions asked (/ask, mention, DM) by outcome", ["outcome"], registry=r
        )
        self.answer_seconds = Histogram(
            "newsdesk_answer_seconds", "Time to answer a question, in seconds", registry=r,
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.reader_seconds = Histogram(
            "newsdesk_reader_seconds", "Time the reader ([reader]) took to read a question's shortlist, in seconds",
            registry=r, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.feed_polls = Counter("newsdesk_feed_polls", "Feed polls by outcome", ["outcome"], registry=r)
        self.feeds = Gauge("newsdesk_feeds", "Feeds by state (as /feed list shows them)", ["state"], registry=r)
        self.articles = Gauge("newsdesk_articles", "Articles stored, in every scope", registry=r)
        self.passages = Gauge("newsdesk_passages", "Passages stored, in every scope", registry=r)
        self.loop_lag_seconds = Histogram(
            "newsdesk_event_loop_lag_seconds",
            f"How late the event loop ran a task due every {LAG_PROBE_SECONDS} s, in seconds",
            registry=r, buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
        )
        for outcome in ("answered", "abstained"):  # shown at 0 from the start, so rates need no special case
            self.questions.labels(outcome)
        for outcome in ("ok", "not_modified", "failed"):
            self.feed_polls.labels(outcome)
        self._counted_at: float | None = None

    def answered(self, answer: Answer, seconds: float) -> None:
        self.questions.labels("abstained" if answer.abstained else "answered").inc()
        self.answer_seconds.observe(seconds)

    def polled(self, report: PollReport) -> None:
        self.feed_polls.labels("failed" if report.error else "not_modified" if report.not_modified else "ok").inc()

    async def refresh_store_counts(self, engine: Engine) -> None:
        """Articles, passages and feeds by state, from the store (at most every STORE_COUNTS_SECONDS)."""
        now = time.monotonic()
        if self._counted_at is not None and now - self._counted_at < STORE_COUNTS_SECONDS:
            return
        stats = await engine.stats()
        feeds = await engine.feeds.list()
        self.articles.set(stats.articles)
        self.passages.set(stats.passages)
        states = [feed_state(feed, engine.feeds.settings) for feed in feeds]
        for state in FEED_STATES:
            self.feeds.labels(state).set(states.count(state))
        self._counted_at = now

    async def watch_loop_lag(self) -> None:
        """Until cancelled: every LAG_PROBE_SECONDS, record how much later than asked the loop woke it."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.loop_lag_seconds.observe(max(loop.time() - asked - LAG_PROBE_SECONDS, 0.0))


class MetricsServer:
    """GET /metrics and GET /healthz on one address, on the running event loop.

    Args:
        metrics: what /metrics shows.
        engine: the bot's engine once it is open and its indexes loaded; None while starting.
    """

    def __init__(self, metrics: BotMetrics, engine: Callable[[], Engine | None]) -> None:
        self.metrics = metrics
        self._engine = engine
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        self._lag_probe: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self._lag_probe = asyncio.create_task(self.metrics.watch_loop_lag(), name="newsdesk: loop lag")
        log.info("serving /metrics and /healthz on http://%s:%d", host, port)

    async def stop(self) -> None:
        if self._lag_probe is not None:
            self._lag_probe.cancel()
            await asyncio.gather(self._lag_probe, return_exceptions=True)
        await self._runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        engine = self._engine()
        if engine is not None:
            try:
                await self.metrics.refresh_store_counts(engine)
            except Exception as exc:  # the counts stay as last read; /healthz says the store fails
                log.warning("metrics: cannot count the store (%s)", exc.__class__.__name__)
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 once the store is open and the indexes loaded, and the store answers a query; else 503 and why."""
        engine = self._engine()
        if engine is None:
            return web.Response(status=503, text="starting: the store and indexes are not ready yet\n")
        try:
            async with asyncio.timeout(HEALTH_QUERY_SECONDS):
                await engine.app_data.get("healthz")  # one indexed row: cheap on any store
        except Exception as exc:
            log.warning("healthz: the store failed a query (%s)", exc.__class__.__name__)
            return web.Response(status=503, text=f"store failing: {exc.__class__.__name__}\n")
        return web.Response(text="ok\n")
