"""The corpus, end to end: admins add and remove their server's articles; corpus/ is re-scanned."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from tests.support.discord_bot import (
    ARTICLES, EPHEMERAL, MANAGE_GUILD, TRAM, TRAM_MD, articles_in, body, bot_settings, command, db_rows,
    make_bot, reply, seed, serve, upload,
)

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

TRAM_QUESTION = "when was the tram line extended to the harbour?"


@pytest.fixture
async def newsroom(fake_discord, guild, settings):
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)) as bot:
        yield bot


async def test_an_admin_adds_a_file_that_becomes_askable_in_that_server(fake_discord, guild, settings, newsroom):
    sent, report = await upload(fake_discord, ("tram.md", TRAM_MD), permissions=MANAGE_GUILD)
    (defer, *edits) = fake_discord.interaction_responses(sent.token)
    assert defer.json == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert edits[0].method == "PATCH" and edits[0].json["content"] == "Reading tram.md (1/1)…"
    (embed,) = report.json["embeds"]
    assert embed["description"].startswith("✅ **tram.md**: 1 article(s), ")
    assert fake_discord.find_requests(method="GET", path=r"/attachments/\d+/tram\.md")
    assert articles_in(settings, str(guild.id)) == ["Tram line extended to the harbour"]

    answer = await command(fake_discord, "ask", {"question": TRAM_QUESTION})
    assert answer["embeds"][0]["title"] == "1. Tram line extended to the harbour"


async def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_stored(fake_discord, settings, newsroom):
    fine = {"title": "Fine", "text": "A fine article about trams and ferries in the harbour."}
    bad_jsonl = (json.dumps(fine) + "\n{not json\n").encode()
    before = db_rows(settings, "SELECT COUNT(*) FROM articles")
    files = ("feed.jsonl", bad_jsonl), ("scan.pdf", b"%PDF-1.4")
    _, report = await upload(fake_discord, *files, permissions=MANAGE_GUILD)
    feed, pdf = report.json["embeds"][0]["description"].split("\n")
    assert feed.startswith("❌ **feed.jsonl** was refused: feed.jsonl:2: not valid JSON")
    assert feed.endswith("Nothing from it was added.")
    assert pdf.startswith("❌ **scan.pdf** was refused: ") and ".pdf" in pdf
    assert db_rows(settings, "SELECT COUNT(*) FROM articles") == before


async def test_a_file_over_the_size_limit_is_refused_without_downloading_it(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path)
    settings = replace(settings, corpus=replace(settings.corpus, max_file_bytes=100))
    async with serve(make_bot(settings)):
        _, report = await upload(fake_discord, ("tram.md", TRAM_MD), permissions=MANAGE_GUILD)
    assert "over the 100-byte limit" in report.json["embeds"][0]["description"]
    assert not fake_discord.find_requests(method="GET", path=r"/attachments/.*")


async def test_members_without_manage_server_are_refused(fake_discord, guild, settings, newsroom):
    attachment = fake_discord.add_attachment("tram.md", TRAM_MD)
    sent = await fake_discord.send_interaction("corpus", {"add": {"file": attachment}})
    refused = body(await reply(fake_discord, sent))
    assert refused["flags"] == EPHEMERAL
    assert refused["content"] == (
        "Only members with the Manage Server permission can change the articles "
        "(they can let a role do it too, with /corpus admin-role)."
    )
    assert not fake_discord.find_requests(method="GET", path=r"/attachments/.*")
    assert articles_in(settings, str(guild.id)) == []


async def test_corpus_commands_are_hidden_from_members_and_absent_from_dms(fake_discord, newsroom):
    (corpus,) = [c for c in fake_discord.commands[None] if c["name"] == "corpus"]
    assert int(corpus["default_member_permissions"]) == MANAGE_GUILD
    assert corpus["contexts"] == [0]  # servers only
    assert {c["name"] for c in corpus["options"]} == {"add", "remove", "list", "stats", "admin-role"}
    dm = fake_discord.dm_channel(fake_discord.tester_id)
    refused = await command(fake_discord, "corpus", {"stats": {}}, channel_id=dm)
    assert refused["content"] == "That command works only in a server."


async def test_another_server_never_sees_an_upload(fake_discord, guild, settings):
    other = fake_discord.add_guild(name="Elsewhere")
    await seed(settings, ARTICLES)
    await seed(settings, [TRAM], str(guild.id))
    async with serve(make_bot(settings)):
        elsewhere = other.channels["general"]
        asked = await fake_discord.send_interaction("ask", {"question": TRAM_QUESTION}, channel_id=elsewhere)
        answer = body(await reply(fake_discord, asked))
        typed = await fake_discord.send_interaction("article", {"title": "tram"}, focused="title", channel_id=elsewhere)
        choices = (await fake_discord.wait_for_request(path=typed.callback_path)).json["data"]["choices"]
        (tram_id,) = db_rows(settings, "SELECT id FROM articles WHERE scope = ?", str(guild.id))[0]
        removal = await fake_discord.send_interaction(
            "corpus", {"remove": {"article": str(tram_id)}}, channel_id=elsewhere, permissions=MANAGE_GUILD
        )
        refused = body(await reply(fake_discord, removal))
    assert "Tram line" not in json.dumps(answer)
    assert choices == []
    assert refused["content"].startswith("None of this server's uploaded articles matches")
    assert articles_in(settings, str(guild.id)) == ["Tram line extended to the harbour"]


async def test_remove_offers_only_this_servers_uploads_and_removes_one(fake_discord, guild, settings):
    await seed(settings, ARTICLES)
    await seed(settings, [TRAM], str(guild.id))
    async with serve(make_bot(settings)):
        typed = await fake_discord.send_interaction(
            "corpus", {"remove": {"article": ""}}, focused="article", permissions=MANAGE_GUILD
        )
        (choice,) = (await fake_discord.wait_for_request(path=typed.callback_path)).json["data"]["choices"]
        done = await command(fake_discord, "corpus", {"remove": {"article": choice["value"]}}, permissions=MANAGE_GUILD)
        answer = await command(fake_discord, "ask", {"question": TRAM_QUESTION})
    assert choice["name"] == "Tram line extended to the harbour"
    assert done["content"] == "Removed Tram line extended to the harbour." and done["flags"] == EPHEMERAL
    assert articles_in(settings, str(guild.id)) == []
    assert "Tram line" not in json.dumps(answer)


async def test_list_and_stats_show_what_this_server_can_search(fake_discord, guild, settings):
    await seed(settings, ARTICLES)
    await seed(settings, [TRAM], str(guild.id))
    async with serve(make_bot(settings)):
        listing = await command(fake_discord, "corpus", {"list": {}}, permissions=MANAGE_GUILD)
        stats = await command(fake_discord, "corpus", {"stats": {}}, permissions=MANAGE_GUILD)
    lines = listing["embeds"][0]["description"].split("\n")
    assert listing["embeds"][0]["title"] == "4 article(s)" and len(lines) == 4
    assert [line for line in lines if line.endswith("*uploaded here*")] == [lines[-1]]
    fields = {f["name"]: f["value"] for f in stats["embeds"][0]["fields"]}
    assert fields["Articles"] == "4 (1 added here)"
    assert fields["Feeds"] == "0" and "Storage" not in fields
    assert fields["Last added"].startswith("Tram line extended to the harbour")


async def test_files_dropped_into_corpus_are_picked_up_while_running(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path, corpus_scan_seconds=0.05)
    async with serve(make_bot(settings)) as bot:
        # Stored is not yet searchable (the indexes take the article just after its commit):
        # the engine's new-article event is the signal that a question can find it.
        searchable = asyncio.Event()
        bot.engine.subscribe(lambda added: searchable.set())
        (settings.corpus.dir / "tram.md").write_bytes(TRAM_MD)
        async with asyncio.timeout(5):
            while True:  # the first event may be another article's
                await searchable.wait()
                searchable.clear()
                if await bot.engine.articles(title_like="Tram"):
                    break
        answer = await command(fake_discord, "ask", {"question": TRAM_QUESTION})
    assert answer["embeds"][0]["title"] == "1. Tram line extended to the harbour"
    assert articles_in(settings, "global") == ["Tram line extended to the harbour"]
