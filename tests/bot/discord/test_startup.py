"""Honest start-up (issue 10): the bot connects at once and reads corpus/ in the background; a
question asked meanwhile hears "still reading (N of M)", or an answer from what is read so far,
saying so; never a false "nothing answers that". The ready line is logged.

The start-up read is held after corpus/ is listed (the `held` fixture: the engine's folder ingest
waits for an event), so each test asks while it is reading by the order of events, not by timing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from newsdesk.index import Engine

from tests.support.discord_bot import body, command, make_bot, reply, seed, serve
from tests.support.engines import BRIDGE, ORCHARD

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

BRIDGE_QUESTION = "when did the harbour bridge reopen?"
ORCHARD_QUESTION = "why was the apple harvest a record?"
CORPUS_LOG = "newsdesk.bot.discord.cogs.corpus"


def drop(folder: Path, name: str, record: dict) -> None:
    (folder / name).write_text(json.dumps(record) + "\n", encoding="utf-8")


@pytest.fixture
def held(monkeypatch) -> asyncio.Event:
    """Holds a bot's start-up read after corpus/ is listed, before any file is read, until set: the
    engine's `ingest_folder_if_changed`, which the read calls next, waits for it first."""
    event = asyncio.Event()
    ingest_folder_if_changed = Engine.ingest_folder_if_changed

    async def held_ingest(self, *args, **kwargs):
        await event.wait()
        return await ingest_folder_if_changed(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "ingest_folder_if_changed", held_ingest)
    return event


def held_bot(settings, held: asyncio.Event):
    """A bot whose start-up read is held (see `held`)."""
    return make_bot(settings)


async def mention_reply(fake_discord, question: str) -> dict:
    before = len(fake_discord.find_requests(method="POST", path=r"/channels/\d+/messages"))
    await fake_discord.send_message(f"<@{fake_discord.bot_id}> {question}", mentions=[fake_discord.bot_id])
    await fake_discord.wait_for_request(
        lambda r: len(fake_discord.find_requests(method="POST", path=r"/channels/\d+/messages")) > before
    )
    return fake_discord.find_requests(method="POST", path=r"/channels/\d+/messages")[before].json


async def test_a_question_while_reading_hears_so_then_the_quote_once_ready(
    fake_discord, guild, settings, held, caplog
):
    caplog.set_level(logging.INFO, logger=CORPUS_LOG)
    drop(settings.corpus.dir, "bridge.jsonl", BRIDGE)
    drop(settings.corpus.dir, "orchard.jsonl", ORCHARD)
    async with serve(held_bot(settings, held)) as bot:  # connected while the read is held: it did not wait for it
        assert not bot.reading.done
        sent = await fake_discord.send_interaction("ask", {"question": BRIDGE_QUESTION})
        early = body(await reply(fake_discord, sent))
        assert fake_discord.interaction_responses(sent.token)[0].json == {"type": 5}  # deferred first
        mentioned = await mention_reply(fake_discord, BRIDGE_QUESTION)
        assert not any("ready:" in r.getMessage() for r in caplog.records)

        held.set()
        await bot.reading.wait()
        late = await command(fake_discord, "ask", {"question": BRIDGE_QUESTION})

    still = "I'm still reading my articles (0 of 2 files); ask again in a moment."
    assert early["content"] == still and not early.get("embeds")
    assert mentioned["content"] == still and not mentioned.get("embeds")
    assert "Nothing in my articles" not in json.dumps([early, mentioned])
    assert late["embeds"][0]["title"] == "1. Harbour bridge reopens" and "reopened on Monday" in json.dumps(late)
    assert not late.get("content")  # the whole corpus was read: no note
    ready = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ready:")]
    assert len(ready) == 1 and ready[0].startswith("ready: 2 article(s), ")


async def test_an_answer_found_while_reading_says_it_is_from_what_is_read_so_far(
    fake_discord, guild, settings, held
):
    await seed(settings, [BRIDGE])  # already stored; corpus/ brings the orchard
    drop(settings.corpus.dir, "orchard.jsonl", ORCHARD)
    async with serve(held_bot(settings, held)) as bot:
        partial = await command(fake_discord, "ask", {"question": BRIDGE_QUESTION})
        mentioned = await mention_reply(fake_discord, BRIDGE_QUESTION)
        not_yet = await command(fake_discord, "ask", {"question": ORCHARD_QUESTION})
        held.set()
        await bot.reading.wait()
        orchard = await command(fake_discord, "ask", {"question": ORCHARD_QUESTION})

    note = "From the articles I have read so far (0 of 1 file); ask again in a moment for all of them."
    for answer in (partial, mentioned):
        assert answer["content"] == note
        assert answer["embeds"][0]["title"] == "1. Harbour bridge reopens"
    assert not_yet["content"] == "I'm still reading my articles (0 of 1 file); ask again in a moment."
    assert orchard["embeds"][0]["title"] == "1. Orchard harvest record" and not orchard.get("content")


async def test_the_start_up_read_counts_its_files_and_an_unchanged_corpus_is_ready_at_once(
    fake_discord, guild, settings, caplog
):
    caplog.set_level(logging.DEBUG, logger=CORPUS_LOG)
    drop(settings.corpus.dir, "bridge.jsonl", BRIDGE)
    drop(settings.corpus.dir, "orchard.jsonl", ORCHARD)
    async with serve(make_bot(settings)) as bot:
        await bot.reading.wait()
    counted = sorted(r.getMessage() for r in caplog.records if r.getMessage().startswith("read "))
    assert [line.rsplit(" (", 1)[1] for line in counted] == ["1 of 2)", "2 of 2)"] or [
        line.rsplit(" (", 1)[1] for line in counted
    ] == ["2 of 2)", "1 of 2)"]
    assert {line.split(" ")[1] for line in counted} == {"bridge.jsonl", "orchard.jsonl"}

    caplog.clear()
    async with serve(make_bot(settings)) as bot:  # a second start: nothing changed, nothing read
        await bot.reading.wait()
        answer = await command(fake_discord, "ask", {"question": ORCHARD_QUESTION})
    assert not [r for r in caplog.records if r.getMessage().startswith("read ")]
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("ready:")][0].startswith(
        "ready: 2 article(s)"
    )
    assert answer["embeds"][0]["title"] == "1. Orchard harvest record" and not answer.get("content")
