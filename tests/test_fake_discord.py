"""End-to-end checks that the fake Discord carries the real discord.py client.

Each test drives a small throwaway bot (never the product bot) through the fake, so a
failure here points at the fake, not at newsdesk.
"""

from __future__ import annotations

import io

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.support.fake_discord import run_bot
from tests.support.fake_discord import FakeDiscord

pytestmark = pytest.mark.usefixtures("fail_on_error_logs")


def make_bot(intents: discord.Intents | None = None, **options) -> commands.Bot:
    """A bot with ``/ping`` (defer, then a "pong" follow-up) that replies to mentions."""
    bot = commands.Bot(
        command_prefix=commands.when_mentioned,
        intents=intents or discord.Intents.default(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        **options,
    )

    @bot.tree.command(name="ping", description="Answer with pong.")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send("pong")

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot or bot.user is None or not bot.user.mentioned_in(message):
            return
        await message.reply(f"heard: {message.content}")

    return bot


async def test_responses_are_exactly_application_json(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake_discord.api_base}/users/@me") as response:
            assert response.headers["Content-Type"] == "application/json"
        async with session.get(f"{fake_discord.api_base}/no/such/route") as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
            assert "no route for GET" in (await response.json())["message"]
    assert [r.path for r in fake_discord.unrouted_requests] == ["/no/such/route"]
    fake_discord.requests.clear()  # the deliberate miss above must not fail the fixture


async def test_login_reaches_ready_with_guilds(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(name="News", channels=["general", "world"])
    bot = make_bot()
    async with run_bot(bot):
        await fake_discord.wait_ready()
        assert bot.user is not None and bot.user.id == fake_discord.bot_id
        assert bot.application_id == fake_discord.application_id
        (ready_guild,) = bot.guilds
        assert ready_guild.id == guild.id and ready_guild.name == "News"
        assert [c.name for c in ready_guild.text_channels] == ["general", "world"]
        assert ready_guild.me is not None
    heartbeat, identify = fake_discord.gateway_received[:2]  # discord.py beats right after HELLO
    assert heartbeat["op"] == 1
    assert identify["op"] == 2 and identify["d"]["token"] == "test-token"
    paths = [r.path for r in fake_discord.requests]
    assert "/users/@me" in paths and "/oauth2/applications/@me" in paths


async def test_tree_sync_puts_the_command_schema(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    bot = make_bot()
    async with run_bot(bot):
        (synced,) = await bot.tree.sync()
    put = fake_discord.find_requests(method="PUT", path=f"/applications/{fake_discord.application_id}/commands")[0]
    (schema,) = put.json
    assert schema["name"] == "ping" and schema["description"] == "Answer with pong."
    assert synced.id == int(fake_discord.commands[None][0]["id"])


async def test_slash_command_defers_then_follows_up(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    async with run_bot(make_bot()):
        sent = await fake_discord.send_interaction("ping")
        followup = await fake_discord.wait_for_request(method="POST", path=sent.followup_path)
    callback, followup_again = fake_discord.interaction_responses(sent.token)
    assert callback.path == sent.callback_path and callback.query == {"with_response": "1"}
    assert callback.json == {"type": 5}
    assert followup_again is followup and followup.status == 200
    assert followup.json["content"] == "pong"
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_mention_gets_a_reply_with_message_reference(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild()
    channel_id = guild.channels["general"]
    async with run_bot(make_bot()):
        await fake_discord.send_message("not for the bot")
        message = await fake_discord.send_message(f"<@{fake_discord.bot_id}> hello", mentions=[fake_discord.bot_id])
        reply = await fake_discord.wait_for_request(method="POST", path=f"/channels/{channel_id}/messages")
    assert reply.json["content"] == f"heard: <@{fake_discord.bot_id}> hello"
    assert int(reply.json["message_reference"]["message_id"]) == int(message["id"])
    assert len(fake_discord.find_requests(method="POST", path=r"/channels/\d+/messages")) == 1


async def test_rate_limited_followup_is_retried(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    fake_discord.fail_next("POST", r"/webhooks/\d+/.+", status=429, retry_after=0.1)
    async with run_bot(make_bot()):
        sent = await fake_discord.send_interaction("ping")
        await fake_discord.wait_for_request(lambda r: r.status == 200, method="POST", path=sent.followup_path)
    attempts = fake_discord.find_requests(method="POST", path=sent.followup_path)
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[1].json["content"] == "pong"


async def test_handler_exceptions_reach_fail_on_error_logs(fake_discord: FakeDiscord, fail_on_error_logs: list) -> None:
    fake_discord.add_guild()
    bot = make_bot()

    @bot.tree.command(name="boom", description="Always fails.")
    async def boom(interaction: discord.Interaction) -> None:
        raise RuntimeError("kaboom")

    async with run_bot(bot):
        await fake_discord.send_interaction("boom")
        # boom's task fails without suspending, so it has logged before /ping's task runs.
        sent = await fake_discord.send_interaction("ping")
        await fake_discord.wait_for_request(method="POST", path=sent.followup_path)
    assert any("kaboom" in str(record.exc_info[1]) for record in fail_on_error_logs if record.exc_info)
    fail_on_error_logs.clear()  # expected here; anywhere else it fails the test


async def test_guild_synced_subcommands_and_attachments(fake_discord: FakeDiscord) -> None:
    """Nested options, resolved attachments served by the fake, and guild-scoped routing."""
    guild = fake_discord.add_guild()
    bot = make_bot()
    news = app_commands.Group(name="news", description="News.", guild_ids=[guild.id])
    files = app_commands.Group(name="files", description="Files.", parent=news)

    @files.command(name="size", description="Size of a file.")
    async def size(interaction: discord.Interaction, upload: discord.Attachment, verbose: bool) -> None:
        data = await upload.read()
        await interaction.response.send_message(f"{upload.filename}: {len(data)} bytes", ephemeral=True)
        await interaction.edit_original_response(content=f"{upload.filename}: {len(data)} bytes, verbose={verbose}")

    bot.tree.add_command(news)
    attachment = fake_discord.add_attachment("notes.txt", b"hello world", "text/plain")
    async with run_bot(bot):
        await bot.tree.sync(guild=discord.Object(guild.id))
        sent = await fake_discord.send_interaction("news", {"files": {"size": {"upload": attachment, "verbose": True}}})
        edit = await fake_discord.wait_for_request(method="PATCH", path=f"{sent.followup_path}/messages/@original")
    assert sent.payload["data"]["guild_id"] == str(guild.id)
    callback = fake_discord.interaction_responses(sent.token)[0]
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == 64  # ephemeral
    assert callback.json["data"]["content"] == "notes.txt: 11 bytes"
    assert edit.response["content"] == "notes.txt: 11 bytes, verbose=True"
    assert edit.response["id"] == callback.response["resource"]["message"]["id"]
    assert fake_discord.find_requests(method="GET", path=rf"/attachments/{attachment['id']}/notes.txt")


async def test_autocomplete_and_button(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    bot = make_bot()
    clicked: list[str] = []

    class Confirm(discord.ui.View):
        @discord.ui.button(label="OK", custom_id="confirm")
        async def ok(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            clicked.append(interaction.user.name)
            await interaction.response.edit_message(content="confirmed", view=None)

    @bot.tree.command(name="topic", description="Pick a topic.")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"topic {name}?", view=Confirm())

    @topic.autocomplete("name")
    async def topic_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in ("politics", "science") if t.startswith(current)]

    async with run_bot(bot):
        typed = await fake_discord.send_interaction("topic", {"name": "sc"}, focused="name")
        choices = await fake_discord.wait_for_request(path=typed.callback_path)
        command = await fake_discord.send_interaction("topic", {"name": "science"})
        shown = await fake_discord.wait_for_request(path=command.callback_path)
        message_id = int(shown.response["resource"]["message"]["id"])
        click = await fake_discord.send_interaction(custom_id="confirm", message_id=message_id)
        await fake_discord.wait_for_request(path=click.callback_path)
    assert choices.json == {"type": 8, "data": {"choices": [{"name": "science", "value": "science"}]}}
    assert clicked == ["tester"]
    assert fake_discord.messages[message_id]["content"] == "confirmed"
    assert fake_discord.messages[message_id]["components"] == []


async def test_dm_message_and_dm_reply(fake_discord: FakeDiscord) -> None:
    bot = make_bot()

    @bot.listen("on_message")
    async def dm_back(message: discord.Message) -> None:
        if isinstance(message.channel, discord.DMChannel) and not message.author.bot:
            await message.author.send("got your DM", file=discord.File(io.BytesIO(b"report"), filename="report.txt"))

    async with run_bot(bot):
        dm_id = fake_discord.dm_channel(fake_discord.tester_id)
        await fake_discord.send_message("hi bot", channel_id=dm_id)
        answer = await fake_discord.wait_for_request(method="POST", path=f"/channels/{dm_id}/messages")
    assert answer.json["content"] == "got your DM"  # from the multipart payload_json
    assert answer.files == [("report.txt", b"report")]
    (attachment,) = answer.response["attachments"]
    async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as download:
        assert await download.read() == b"report"
    assert fake_discord.find_requests(method="POST", path="/users/@me/channels")[0].json == {
        "recipient_id": fake_discord.tester_id
    }


async def test_message_content_intent_is_emulated(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    seen: dict[str, list[str]] = {"plain": [], "content": []}

    def recorder(key: str, intents: discord.Intents) -> commands.Bot:
        bot = make_bot(intents)

        @bot.listen("on_message")
        async def record(message: discord.Message) -> None:
            seen[key].append(message.content)

        return bot

    with_content = discord.Intents.default()
    with_content.message_content = True
    plain, content = recorder("plain", discord.Intents.default()), recorder("content", with_content)
    async with run_bot(plain), run_bot(content):
        await fake_discord.send_message("anyone there?")
        await fake_discord.send_message(f"<@{fake_discord.bot_id}> hi", mentions=[fake_discord.bot_id])
        # Both bots reply to the mention; by then both have handled the earlier message too.
        await fake_discord.wait_for_request(lambda r: len(fake_discord.find_requests(method="POST")) >= 2)
    assert seen["plain"] == ["", f"<@{fake_discord.bot_id}> hi"]
    assert seen["content"] == ["anyone there?", f"<@{fake_discord.bot_id}> hi"]


async def test_reconnect_resumes_the_session(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    bot = make_bot()
    async with run_bot(bot):
        await fake_discord.reconnect_clients()
        sent = await fake_discord.send_interaction("ping")
        await fake_discord.wait_for_request(method="POST", path=sent.followup_path)
    ops = [frame["op"] for frame in fake_discord.gateway_received if frame["op"] in (2, 6)]
    assert ops == [2, 6]  # one IDENTIFY, then RESUME instead of a second IDENTIFY


async def test_members_arrive_with_the_guild_and_by_query(fake_discord: FakeDiscord) -> None:
    reader = fake_discord.add_user("reader")
    guild = fake_discord.add_guild(members=[reader])
    intents = discord.Intents.default()
    intents.members = True
    bot = make_bot(intents)
    async with run_bot(bot):
        ready_guild = bot.get_guild(guild.id)
        assert ready_guild is not None and ready_guild.chunked  # GUILD_CREATE carried every member
        found = await ready_guild.query_members("rea")  # REQUEST_GUILD_MEMBERS (op 8)
    assert {m.name for m in ready_guild.members} == {fake_discord.bot_name, "tester", "reader"}
    assert [m.id for m in found] == [reader]
    assert [frame["d"]["query"] for frame in fake_discord.gateway_received if frame["op"] == 8] == ["rea"]


async def identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s between its own shards' IDENTIFYs; the fake does not care."""


def shard_range_bot(shard_ids: list[int], shard_count: int, answered: list[tuple[int, int | None]]) -> commands.AutoShardedBot:
    """A bot running `shard_ids` of `shard_count` whose /ping notes (its first shard, the guild) in `answered`."""
    bot = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.default(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        shard_ids=shard_ids,
        shard_count=shard_count,
    )
    bot.before_identify_hook = identify_at_once

    @bot.tree.command(name="ping", description="Answer with pong.")
    async def ping(interaction: discord.Interaction) -> None:
        answered.append((shard_ids[0], interaction.guild_id))
        await interaction.response.send_message("pong")

    return bot


async def test_gateway_bot_recommends_shards_and_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDiscord(recommended_shards=3, max_concurrency=2)
    await fake.start()
    fake.install(monkeypatch)
    try:
        bot = commands.AutoShardedBot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
        bot.before_identify_hook = identify_at_once
        async with run_bot(bot):
            limits = await bot.fetch_session_start_limits()
            assert bot.shard_count == 3 and limits.max_concurrency == 2
    finally:
        await fake.stop()
    assert [record.shard for record in fake.identifies] == [(0, 3), (1, 3), (2, 3)]
    assert all(record.at <= record.ready_at for record in fake.identifies)
    assert [record.bucket(2) for record in fake.identifies] == [0, 1, 0]


async def test_a_guilds_events_reach_only_the_shard_that_owns_it(fake_discord: FakeDiscord) -> None:
    """Two bots with disjoint shard ranges serve one application, as two processes would."""
    on_shard = {shard: fake_discord.add_guild(name=f"On shard {shard}", shard=(shard, 2)) for shard in (0, 1)}
    answered: list[tuple[int, int | None]] = []
    first, second = shard_range_bot([0], 2, answered), shard_range_bot([1], 2, answered)
    async with run_bot(first), run_bot(second):
        await fake_discord.wait_ready(shards=[0, 1])
        assert [g.id for g in first.guilds] == [on_shard[0].id] and [g.id for g in second.guilds] == [on_shard[1].id]
        for shard in (1, 0):
            sent = await fake_discord.send_interaction("ping", channel_id=on_shard[shard].channels["general"])
            await fake_discord.wait_for_request(path=sent.callback_path)
        dm = await fake_discord.send_interaction("ping", channel_id=fake_discord.dm_channel(fake_discord.tester_id))
        await fake_discord.wait_for_request(path=dm.callback_path)
    assert answered == [(1, on_shard[1].id), (0, on_shard[0].id), (0, None)]  # DMs go to shard 0
