"""Helpers for the bot's end-to-end tests: the real NewsdeskBot and the real engine (fast hashing
embedder) on a small corpus, against the loopback fake Discord; and reading what the bot sent.

The fixtures built on them (`settings`, `guild`, `newsdesk`, `nobody_pinged`) are in
tests/bot/discord/conftest.py. Test modules mark themselves with
``pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")``: no ERROR may be logged,
and no message may parse mentions.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsdesk.bot.discord import NewsdeskBot
from newsdesk.index import GLOBAL_SCOPE, Engine, Settings, load_settings
from newsdesk.index.store.sqlite import DB_NAME
from tests.support.engines import BRIDGE, ORCHARD, hashing_settings
from tests.support.fake_discord import FakeDiscord, RecordedRequest, SentInteraction, run_bot

# Third-party text can contain mentions; quoting it must ping nobody.
FERRY = {
    "title": "Ferry timetable notice",
    "date": "2024-05-02",
    "source": "Island Post",
    "text": "The ferry operator posted a notice to @everyone in the island chat saying the winter ferry "
    "timetable starts on Friday, and thanked <@123456789012345678> for the new ferry timetable design.",
}
ARTICLES = [BRIDGE, ORCHARD, FERRY]

# An article in markdown with front matter, as admins upload it; TRAM: the same article as a record
# (to store as an upload of a server before the bot starts).
TRAM_MD = b"""---
title: Tram line extended to the harbour
source: Coast Gazette
date: 2024-06-01
---
The city's tram line was extended to the harbour on Saturday, adding four tram stops and a new tram depot near the ferry terminal.

Officials said trams would run every eight minutes on the harbour extension during the summer.
"""
TRAM = {"title": "Tram line extended to the harbour", "text": TRAM_MD.decode().split("---\n")[-1]}

MANAGE_GUILD = 1 << 5
EPHEMERAL = 64


def bot_settings(tmp_path: Path, **discord: Any) -> Settings:
    """Hashing-embedder settings in tmp_path, with an empty corpus folder and `[discord]` overrides.

    By default the periodic corpus scan is off and the ask and search budgets are generous,
    so tests that do not test them are not affected by them.
    """
    settings = hashing_settings(tmp_path / "data")
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    table = {**load_settings().extra["discord"], "corpus_scan_seconds": 0, "ask_rate": 1000, "search_rate": 1000, **discord}
    return replace(settings, corpus=replace(settings.corpus, dir=corpus), extra={**settings.extra, "discord": table})


async def seed(settings: Settings, records: Iterable[dict], scope: str = GLOBAL_SCOPE) -> None:
    """Store articles before the bot starts, as `newsdesk ingest` would."""
    data = "".join(json.dumps(record) + "\n" for record in records).encode()
    engine = await Engine.open(settings=settings)
    try:
        report = await engine.ingest_document(data, "seed.jsonl", scope)
        assert not report.problems, report.problems
    finally:
        await engine.close()


def make_bot(settings: Settings, **options: Any) -> NewsdeskBot:
    return NewsdeskBot(settings, guild_ready_timeout=0.05, **options)


# Names discord.py gives the tasks that run command, component and event handlers.
_HANDLER_TASKS = ("CommandTree-invoker", "discord-ui-view-dispatch-", "discord.py: ")


async def settle(timeout: float = 10.0) -> None:
    """Wait until the bot's command, component and event handlers have all finished.

    The fake counts a request as answered before its response has reached discord.py, so
    a test that closes the bot right after seeing the last request would cut a handler
    off mid-request (and fail on the error that logs).
    """
    async with asyncio.timeout(timeout):
        while pending := [
            task
            for task in asyncio.all_tasks()
            if task is not asyncio.current_task() and not task.done() and task.get_name().startswith(_HANDLER_TASKS)
        ]:
            await asyncio.wait(pending)


@asynccontextmanager
async def serve(bot: NewsdeskBot) -> AsyncIterator[NewsdeskBot]:
    """`run_bot`, letting the bot finish what it is doing before it is closed."""
    async with run_bot(bot):
        yield bot
        await settle()


def db_rows(settings: Settings, sql: str, *params: Any) -> list[tuple]:
    """Read the bot's database directly, as an operator would."""
    with sqlite3.connect(settings.storage.data_dir / DB_NAME) as db:
        return db.execute(sql, params).fetchall()


# --- reading what the bot sent -------------------------------------------------------------


def body(request: RecordedRequest) -> dict[str, Any]:
    """The message a request carries: a follow-up's or edit's JSON, or an interaction callback's data."""
    if request.path.endswith("/callback"):
        return request.json.get("data") or {}
    return request.json or {}


async def reply(fake: FakeDiscord, sent: SentInteraction) -> RecordedRequest:
    """The bot's answer to an interaction: a message callback (4), page turn (7), or its first follow-up."""

    def answers(request: RecordedRequest) -> bool:
        if request.status != 200:
            return False
        if request.path == sent.callback_path:
            return request.json["type"] in (4, 7)
        return request.method == "POST" and request.path == sent.followup_path

    return await fake.wait_for_request(answers)


async def command(fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Send a slash command (options and keywords as for `send_interaction`); the message it was answered with."""
    return body(await reply(fake, await fake.send_interaction(name, options, **kwargs)))


def components(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons and menus of a message, out of their action rows."""
    return [component for row in message.get("components", []) for component in row["components"]]


def component(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The button labelled `label`, or the menu whose placeholder it is."""
    for item in components(message):
        if label in (item.get("label"), item.get("placeholder")):
            return item
    raise AssertionError(f"no component {label!r} in {components(message)}")


def message_id(request: RecordedRequest) -> int:
    """The id of the message a follow-up or message callback created."""
    created = request.response["resource"]["message"] if request.path.endswith("/callback") else request.response
    return int(created["id"])


def unquote(markdown: str) -> str:
    """The text of a block quote the bot rendered: without quote and bold markers and escapes."""
    text = "\n".join(line.removeprefix("> ") for line in markdown.split("\n"))
    return re.sub(r"\\(.)", r"\1", text.replace("**", ""))


def assert_nobody_pinged(fake: FakeDiscord) -> int:
    """Every message the bot sent, edited or answered with parses no mentions at all.

    Returns:
        How many messages were checked.
    """
    sent = [r for r in fake.requests if r.method in ("POST", "PATCH") and {"content", "embeds"} & set(body(r))]
    for request in sent:
        assert no_pings(body(request)), (request.method, request.path, body(request))
    return len(sent)


def no_pings(message: dict[str, Any]) -> bool:
    """The message parses no mentions (replies also say `replied_user: false`)."""
    return message.get("allowed_mentions") in ({"parse": []}, {"parse": [], "replied_user": False})


# --- what admins do ---------------------------------------------------------------------------


async def upload(fake_discord, *files, **options):
    """/corpus add with attachments served by the fake; the interaction and its final report."""
    names = ("file", "file2", "file3")
    attachments = {name: fake_discord.add_attachment(filename, data) for name, (filename, data) in zip(names, files)}
    sent = await fake_discord.send_interaction("corpus", {"add": attachments}, **options)
    return sent, await final_edit(fake_discord, sent)


async def final_edit(fake_discord, sent):
    return await fake_discord.wait_for_request(
        lambda r: r.method == "PATCH" and sent.token in r.path and bool(r.json.get("embeds")) and r.status == 200
    )


def articles_in(settings, scope: str) -> list[str]:
    return [title for (title,) in db_rows(settings, "SELECT title FROM articles WHERE scope = ? ORDER BY id", scope)]


async def first_poll_done(settings) -> list[str]:
    """Once the bot's background polling has polled every feed (or 20 s passed): the titles stored, by scope and id."""
    for _ in range(400):
        if db_rows(settings, "SELECT COUNT(*) FROM feeds WHERE last_polled_at IS NULL") == [(0,)]:
            break
        await asyncio.sleep(0.05)
    return [t for (t,) in db_rows(settings, "SELECT title FROM articles ORDER BY scope, id")]
