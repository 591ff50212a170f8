"""Hostile uploads through /corpus add, end to end: one line to the admin per file, the other files read,
and the server's storage limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.discord_bot import (
    MANAGE_GUILD, TRAM, TRAM_MD, articles_in, bot_settings, make_bot, seed, serve, upload,
)
from tests.support.special_files import ALIAS_BOMB, BIG_NUMBER

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")


async def test_each_hostile_file_gets_one_line_and_the_good_one_is_added(fake_discord, guild, settings):
    await seed(settings, [{"title": "Seed", "text": "A seed article about the harbour."}])
    files = ("alias-bomb.md", ALIAS_BOMB.read_bytes()), ("big-number.jsonl", BIG_NUMBER.read_bytes()), ("tram.md", TRAM_MD)
    async with serve(make_bot(settings)):
        _, report = await upload(fake_discord, *files, permissions=MANAGE_GUILD)
    bomb, big, tram = report.json["embeds"][0]["description"].split("\n")
    assert bomb == (
        "❌ **alias-bomb.md** was refused: front matter uses a YAML alias (\\*name), which is not allowed; "
        "write the value out. Nothing from it was added."
    )
    assert big == (
        "❌ **big-number.jsonl** was refused: big-number.jsonl:2: a number 5,000 digits long; "
        "numbers here have at most 100 digits. Nothing from it was added."
    )
    assert tram.startswith("✅ **tram.md**: 1 article(s), ")
    assert articles_in(settings, str(guild.id)) == [TRAM["title"]]


async def test_an_upload_over_the_servers_article_limit_is_refused_naming_the_limit(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path)
    settings = replace(settings, corpus=replace(settings.corpus, max_articles_per_scope=2))
    stored = [{"title": f"Note {n}", "text": f"The harbour office published note {n} on Monday."} for n in (1, 2)]
    await seed(settings, stored, str(guild.id))
    async with serve(make_bot(settings)):
        _, report = await upload(fake_discord, ("tram.md", TRAM_MD), permissions=MANAGE_GUILD)
    assert report.json["embeds"][0]["description"] == (
        "❌ **tram.md** was refused: over this server's limit of 2 articles ([corpus] max\\_articles\\_per\\_scope): "
        "it has 2 article(s) stored and this file's new articles add 1. Nothing from it was added."
    )
    assert articles_in(settings, str(guild.id)) == ["Note 1", "Note 2"]
