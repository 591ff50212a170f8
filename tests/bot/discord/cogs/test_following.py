"""Following stories, end to end: /follow add posts each new article's best quote in a channel, once."""

from __future__ import annotations

import json

import pytest

from tests.support.dated_news import STRIKE_BEGINS, STRIKE_ENDS, STRIKE_STALLS, STRIKE_TOPIC
from tests.support.discord_bot import (
    EPHEMERAL, MANAGE_GUILD, body, bot_settings, command, db_rows, make_bot, reply, seed, serve,
)
from tests.support.engines import BRIDGE, ORCHARD, with_feeds
from tests.support.feed_server import FeedServer, stories

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

TOPIC = STRIKE_TOPIC


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


async def upload(fake_discord, filename: str, data: bytes) -> None:
    """/corpus add one file, as an admin, and wait for its report."""
    sent = await fake_discord.send_interaction(
        "corpus", {"add": {"file": fake_discord.add_attachment(filename, data)}}, permissions=MANAGE_GUILD
    )
    await fake_discord.wait_for_request(
        lambda r: r.method == "PATCH" and sent.token in r.path and bool(r.json.get("embeds")) and r.status == 200
    )


def follow_posts(fake_discord, channel: int) -> list:
    return [r for r in fake_discord.find_requests(method="POST", path=f"/channels/{channel}/messages") if r.status == 200]


async def follow(fake_discord, channel: int, topic: str = TOPIC, **options) -> dict:
    return await command(fake_discord, "follow", {"add": {"topic": topic}}, channel_id=channel, **options)


@pytest.fixture
async def newsroom(fake_discord, guild, settings):
    await seed(settings, [STRIKE_BEGINS])
    async with serve(make_bot(settings)) as bot:
        yield bot


async def test_a_followed_topic_gets_each_new_articles_best_quote_posted_once(fake_discord, guild, settings, newsroom):
    world = guild.channels["world"]
    confirmed = await follow(fake_discord, world, permissions=MANAGE_GUILD)
    assert confirmed["flags"] == EPHEMERAL
    assert confirmed["content"] == f"Following “{TOPIC}”: new articles that answer it will be quoted in <#{world}>."

    await upload(fake_discord, "news.jsonl", jsonl(STRIKE_ENDS, ORCHARD))
    post = await fake_discord.wait_for_request(method="POST", path=f"/channels/{world}/messages")
    assert post.json["content"] == f"New on “{TOPIC}”:"
    (embed,) = post.json["embeds"]
    assert embed["title"] == STRIKE_ENDS["title"] and embed["footer"]["text"] == "Lake Radio · 2024-05-01"
    assert "The lakeside ferry strike ended on Wednesday" in embed["description"]
    assert post.json["allowed_mentions"] == {"parse": []}

    await upload(fake_discord, "news.jsonl", jsonl(STRIKE_ENDS, ORCHARD))  # the same again: nothing new to post
    await upload(fake_discord, "more.jsonl", jsonl(STRIKE_STALLS))
    second = await fake_discord.wait_for_request(
        lambda r: r.json["embeds"][0]["title"] == STRIKE_STALLS["title"], method="POST", path=f"/channels/{world}/messages"
    )
    assert second.status == 200
    posted = [r.json["embeds"][0]["title"] for r in follow_posts(fake_discord, world)]
    assert posted == [STRIKE_ENDS["title"], STRIKE_STALLS["title"]]  # each once; the orchard answers nothing
    assert len(db_rows(settings, "SELECT follow_id, article_id FROM follow_deliveries")) == 2
    assert follow_posts(fake_discord, guild.channels["general"]) == []


async def test_a_channel_gets_no_more_posts_than_its_rate_allows(fake_discord, guild, tmp_path):
    settings = bot_settings(tmp_path, follow_posts=1, follow_per_seconds=3600)
    await seed(settings, [BRIDGE])
    async with serve(make_bot(settings)):
        world = guild.channels["world"]
        await follow(fake_discord, world, permissions=MANAGE_GUILD)
        await upload(fake_discord, "news.jsonl", jsonl(STRIKE_BEGINS, STRIKE_STALLS, STRIKE_ENDS))
        await fake_discord.wait_for_request(method="POST", path=f"/channels/{world}/messages")
        # Unpaced, the other two posts (matched with the first, already under way) would go out long before
        # a command's round trip ends.
        await command(fake_discord, "follow", {"list": {}}, permissions=MANAGE_GUILD)
    # The other two waited for the channel's next turn, an hour away, when the bot stopped: not posted,
    # and not recorded as delivered.
    assert len(follow_posts(fake_discord, world)) == 1
    assert len(db_rows(settings, "SELECT article_id FROM follow_deliveries")) == 1


async def test_follow_into_another_channel_and_list_and_unfollow(fake_discord, guild, settings, newsroom):
    general, world = guild.channels["general"], guild.channels["world"]
    options = [
        {"name": "add", "type": 1, "options": [
            {"name": "topic", "type": 3, "value": TOPIC},
            {"name": "channel", "type": 7, "value": str(world)},
        ]}
    ]
    resolved = {"channels": {str(world): {"id": str(world), "name": "world", "type": 0, "permissions": "1024"}}}
    sent = await fake_discord.send_interaction(
        "follow", options, resolved=resolved, channel_id=general, permissions=MANAGE_GUILD
    )
    assert body(await reply(fake_discord, sent))["content"].endswith(f"will be quoted in <#{world}>.")
    await follow(fake_discord, general, "record apple harvest in the valley", permissions=MANAGE_GUILD)

    listed = await command(fake_discord, "follow", {"list": {}}, permissions=MANAGE_GUILD)
    assert listed["embeds"][0]["description"].split("\n") == [
        f"`1` “{TOPIC}” → <#{world}>",
        f"`2` “record apple harvest in the valley” → <#{general}>",
    ]
    typed = await fake_discord.send_interaction("unfollow", {"follow": "ferry"}, focused="follow", permissions=MANAGE_GUILD)
    (choice,) = (await fake_discord.wait_for_request(path=typed.callback_path)).json["data"]["choices"]
    assert choice == {"name": f"{TOPIC} (#world)", "value": "1"}
    stopped = await command(fake_discord, "unfollow", {"follow": "1"}, permissions=MANAGE_GUILD)
    assert stopped["content"] == f"Stopped following “{TOPIC}”."
    await upload(fake_discord, "news.jsonl", jsonl(STRIKE_ENDS, {**ORCHARD, "title": "Orchard prices", "date": "2024-10-01"}))
    post = await fake_discord.wait_for_request(method="POST", path=f"/channels/{general}/messages")
    assert post.json["embeds"][0]["title"] == "Orchard prices"
    assert follow_posts(fake_discord, world) == []  # unfollowed before the strike's end was uploaded


async def test_only_admins_may_follow(fake_discord, guild, newsroom):
    refused = await follow(fake_discord, guild.channels["world"])
    assert refused["flags"] == EPHEMERAL
    assert refused["content"] == (
        "Only members with the Manage Server permission can change what this server follows "
        "(they can let a role do it too, with /corpus admin-role)."
    )
    refused = await command(fake_discord, "unfollow", {"follow": "1"})
    assert refused["content"].startswith("Only members with the Manage Server permission")


async def test_articles_added_while_the_bot_was_down_are_posted_when_it_starts(fake_discord, guild, settings):
    world = guild.channels["world"]
    await seed(settings, [STRIKE_BEGINS])
    async with serve(make_bot(settings)):
        await follow(fake_discord, world, permissions=MANAGE_GUILD)
    await seed(settings, [STRIKE_ENDS])  # `newsdesk ingest` while the bot is stopped
    async with serve(make_bot(settings)):
        post = await fake_discord.wait_for_request(method="POST", path=f"/channels/{world}/messages")
    assert post.json["embeds"][0]["title"] == STRIKE_ENDS["title"]
    assert len(follow_posts(fake_discord, world)) == 1  # only what came while it was down


async def test_a_new_feed_item_is_posted_to_the_follow_once(fake_discord, guild, tmp_path):
    """The two halves of live news together: a feed poll stores an item, and the follow quotes it."""
    settings = with_feeds(bot_settings(tmp_path), allow_private_addresses=True, timeout_seconds=5)
    world = guild.channels["world"]
    async with FeedServer(stories()) as server, serve(make_bot(settings)) as bot:
        await follow(fake_discord, world, "when will the ferry to Grey Island run again?", permissions=MANAGE_GUILD)
        await command(fake_discord, "feed", {"add": {"url": server.url("/rss")}}, permissions=MANAGE_GUILD)
        post = await fake_discord.wait_for_request(method="POST", path=f"/channels/{world}/messages")
        await bot.engine.feeds.poll_due(everything=True)  # the feed again: nothing new in it
        await command(fake_discord, "follow", {"list": {}}, permissions=MANAGE_GUILD)
    assert post.json["embeds"][0]["title"] == "Ferry to Grey Island resumes"
    assert "twice a day from 3 December" in post.json["embeds"][0]["description"]
    assert post.json["allowed_mentions"] == {"parse": []}
    assert len(follow_posts(fake_discord, world)) == 1  # the lighthouse and the tram do not answer it
