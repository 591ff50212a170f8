"""What an operator watches: `newsdesk run` serving GET /metrics and GET /healthz on `[metrics] listen`,
and its log lines (`[logging] format`); tested over HTTP against a real bot process on the loopback Discord."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import replace

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from newsdesk.bot.discord.metrics import BotMetrics, MetricsServer
from newsdesk.index import load_settings
from tests.support.discord_bot import ARTICLES, command, db_rows, make_bot, seed, serve
from tests.support.engines import ORCHARD
from tests.support.feed_server import FeedServer, stories
from tests.support.processes import newsdesk_run, unless_one_ends

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

ORCHARD_QUESTION = "why was the apple harvest a record?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text page."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def until(condition, what: str, attempts: int = 600) -> None:
    """Wait for condition() (checked every 0.1 s) to hold: what the bot does in the background."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"never happened: {what}")


async def test_newsdesk_run_serves_metrics_and_health_with_json_log_lines(tmp_path, fake_discord, guild):
    """A question, two feeds (one answering, one 404) and the store, counted on /metrics; /healthz 200; the
    listen address and the log format set by NEWSDESK_ variables; every log line a JSON object with time and level."""
    port = free_port()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    async with FeedServer(stories()) as feeds:
        config = tmp_path / "newsdesk.toml"
        config.write_text(
            f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[corpus]\ndir = "{corpus}"\n'
            # abstention off: its threshold is calibrated on the real model's scores, not the hashing embedder's
            '[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[retrieval]\nabstain_below = 0.0\n'
            f'[discord]\napi_base = "{fake_discord.api_base}"\ngateway_url = "{fake_discord.gateway_url}"\n'
            f'[feeds]\nurls = ["{feeds.url("/atom")}", "{feeds.url("/status/404")}"]\n'
            "allow_private_addresses = true\ntimeout_seconds = 5\n",
            encoding="utf-8",
        )
        settings = load_settings(config)
        await seed(settings, [ORCHARD])
        environment = {"NEWSDESK_METRICS__LISTEN": f"127.0.0.1:{port}", "NEWSDESK_LOGGING__FORMAT": "json"}
        log = tmp_path / "run.log"
        async with newsdesk_run(config, log, environment=environment) as bot:
            await unless_one_ends(fake_discord.wait_ready(timeout=60), bot)
            # both feeds polled once: the one's articles stored, the other's failure recorded on it
            polled = "SELECT COUNT(*) FROM feeds WHERE last_polled_at IS NOT NULL"
            await until(lambda: db_rows(settings, polled) == [(2,)], "both feeds polled")
            shown = await command(fake_discord, "ask", {"question": ORCHARD_QUESTION})
            assert shown["embeds"] and "record harvest" in json.dumps(shown["embeds"])

            health = await get(f"http://127.0.0.1:{port}/healthz")
            status, page = await get(f"http://127.0.0.1:{port}/metrics")
        lines = log.read_text(encoding="utf-8").splitlines()

    assert health == (200, "ok\n")
    assert status == 200
    values = samples(page)
    assert values[("newsdesk_questions_total", (("outcome", "answered"),))] == 1
    assert values[("newsdesk_questions_total", (("outcome", "abstained"),))] == 0
    assert values[("newsdesk_answer_seconds_count", ())] == 1
    assert values[("newsdesk_feed_polls_total", (("outcome", "ok"),))] == 1
    assert values[("newsdesk_feed_polls_total", (("outcome", "failed"),))] == 1
    assert values[("newsdesk_feeds", (("state", "ok"),))] == 1
    assert values[("newsdesk_feeds", (("state", "error"),))] == 1
    ((articles, passages),) = db_rows(settings, "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM passages)")
    assert articles > 1  # the seed and the feed's
    assert values[("newsdesk_articles", ())] == articles
    assert values[("newsdesk_passages", ())] == passages
    assert ("newsdesk_event_loop_lag_seconds_count", ()) in values
    assert values[("newsdesk_reader_seconds_count", ())] == 0  # the reader is off by default

    records = [json.loads(line) for line in lines if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    served = f"serving /metrics and /healthz on http://127.0.0.1:{port}"
    assert any(record["level"] == "INFO" and record["message"] == served for record in records)
    assert "test-token" not in log.read_text(encoding="utf-8")


async def test_healthz_is_503_while_starting():
    """Before the engine is open and its indexes loaded, the bot is not ready to answer."""
    server = MetricsServer(BotMetrics(), lambda: None)
    port = free_port()
    await server.start("127.0.0.1", port)
    try:
        status, text = await get(f"http://127.0.0.1:{port}/healthz")
        metrics_status, _ = await get(f"http://127.0.0.1:{port}/metrics")  # counters are served even so
    finally:
        await server.stop()
    assert (status, text) == (503, "starting: the store and indexes are not ready yet\n")
    assert metrics_status == 200


async def test_healthz_is_503_when_the_store_fails(fake_discord, guild, settings):
    port = free_port()
    settings = replace(settings, extra={**settings.extra, "metrics": {"listen": f"127.0.0.1:{port}"}})
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)) as bot:
        assert await get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
        await bot.engine.close()  # the store is closed under the running bot
        status, text = await get(f"http://127.0.0.1:{port}/healthz")
    assert status == 503 and text.startswith("store failing: ")


async def test_a_taken_metrics_address_is_one_line(fake_discord, tmp_path, monkeypatch, capsys):
    """`newsdesk run` whose [metrics] listen is taken says so in one line, and stops."""
    from newsdesk.bot.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "newsdesk.toml"
        config.write_text(
            f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[corpus]\ndir = "{tmp_path / "corpus"}"\n[model]\nbackend = "hashing"\n'
            f'[discord]\napi_base = "{fake_discord.api_base}"\ngateway_url = "{fake_discord.gateway_url}"\n'
            f'[metrics]\nlisten = "127.0.0.1:{port}"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("DISCORD_TOKEN", "test-token")
        code = await asyncio.to_thread(main, ["--config", str(config), "run"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"newsdesk: cannot serve metrics on 127.0.0.1:{port}") and err.count("\n") == 1
