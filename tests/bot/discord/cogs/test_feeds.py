"""Feeds in Discord, end to end: an admin subscribes the server to a feed, the bot polls it, members get answers."""

from __future__ import annotations

import pytest

from tests.support.discord_bot import (
    EPHEMERAL, MANAGE_GUILD, body, bot_settings, command, db_rows, first_poll_done, make_bot, reply, serve, unquote,
)
from tests.support.engines import with_feeds
from tests.support.feed_server import FeedServer, stories

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

FERRY_QUESTION = "From when will the ferry to Grey Island run twice a day?"


@pytest.fixture
async def server():
    async with FeedServer(stories()) as server:
        yield server


@pytest.fixture
def settings(tmp_path):
    return with_feeds(bot_settings(tmp_path), allow_private_addresses=True, timeout_seconds=5)


async def test_an_admin_adds_a_feed_and_members_are_answered_from_its_articles(
    fake_discord, guild, settings, server
):
    async with serve(make_bot(settings)):
        added = await command(fake_discord, "feed", {"add": {"url": server.url("/rss")}}, permissions=MANAGE_GUILD)
        assert added["flags"] == EPHEMERAL
        assert added["content"] == (
            "Subscribed to **Harbour Gazette** (3 item(s) in the feed now). "
            "Its articles are being taken in; /feed list shows how it goes."
        )
        titles = await first_poll_done(settings)
        assert sorted(titles) == ["Council approves new tram line", "Ferry to Grey Island resumes", "Old lighthouse becomes a museum"]

        answer = await command(fake_discord, "ask", {"question": FERRY_QUESTION})
        first = answer["embeds"][0]
        assert first["title"] == "1. Ferry to Grey Island resumes"
        assert "twice a day from 3 December" in unquote(first["description"])
        assert unquote(first["description"]) in server.story("grey-island-ferry").body  # verbatim

        listed = await command(fake_discord, "feed", {"list": {}}, permissions=MANAGE_GUILD)
        description = listed["embeds"][0]["description"]
        assert listed["embeds"][0]["title"] == "1 feed(s)"
        assert "**Harbour Gazette** · ok" in description and f"<{server.url('/rss')}>" in description
        assert "3 article(s) · last success <t:" in description and "next poll <t:" in description


async def test_a_feed_is_refused_with_its_reason_and_nothing_is_stored(fake_discord, guild, settings, server):
    async with serve(make_bot(settings)):
        refused = await command(fake_discord, "feed", {"add": {"url": server.url("/static/bomb.xml")}}, permissions=MANAGE_GUILD)
        assert refused["content"] == (
            "That feed was not added: the feed declares XML entities or external references, which are refused"
        )
        listed = await command(fake_discord, "feed", {"list": {}}, permissions=MANAGE_GUILD)
        assert listed["content"] == "This server has no feeds yet: add one with /feed add."
    assert db_rows(settings, "SELECT COUNT(*) FROM feeds") == [(0,)]


async def test_a_failing_feed_shows_its_last_error_in_the_list(fake_discord, guild, settings, server):
    async with serve(make_bot(settings)) as bot:
        await command(fake_discord, "feed", {"add": {"url": server.url("/rss-full")}}, permissions=MANAGE_GUILD)
        await first_poll_done(settings)
        server.feeds_answer = "html"
        await bot.engine.feeds.poll_due(everything=True)  # the next poll, now rather than in poll_seconds
        listed = await command(fake_discord, "feed", {"list": {}}, permissions=MANAGE_GUILD)
        description = listed["embeds"][0]["description"]
        assert "**Harbour Gazette** · error" in description
        assert "Last error: this is an HTML page, not a feed" in description
        assert "3 article(s)" in description


async def test_members_without_manage_server_cannot_add_feeds(fake_discord, guild, settings, server):
    async with serve(make_bot(settings)):
        sent = await fake_discord.send_interaction("feed", {"add": {"url": server.url("/rss")}})
        refused = body(await reply(fake_discord, sent))
    assert refused["flags"] == EPHEMERAL
    assert refused["content"] == (
        "Only members with the Manage Server permission can change the feeds "
        "(they can let a role do it too, with /corpus admin-role)."
    )
    assert server.requests == {} and db_rows(settings, "SELECT COUNT(*) FROM feeds") == [(0,)]


async def test_remove_offers_the_servers_feeds_and_can_remove_their_articles(fake_discord, guild, settings, server):
    async with serve(make_bot(settings)):
        await command(fake_discord, "feed", {"add": {"url": server.url("/atom")}}, permissions=MANAGE_GUILD)
        await first_poll_done(settings)
        typed = await fake_discord.send_interaction(
            "feed", {"remove": {"feed": "valley"}}, focused="feed", permissions=MANAGE_GUILD
        )
        (choice,) = (await fake_discord.wait_for_request(path=typed.callback_path)).json["data"]["choices"]
        assert choice["name"] == f"Valley Times ({server.url('/atom')})"
        removed = await command(
            fake_discord, "feed", {"remove": {"feed": choice["value"], "remove_articles": True}}, permissions=MANAGE_GUILD
        )
        assert removed["content"] == "Unsubscribed from **Valley Times** and 3 of its article(s)."
    assert db_rows(settings, "SELECT COUNT(*) FROM articles WHERE scope = ?", str(guild.id)) == [(0,)]
