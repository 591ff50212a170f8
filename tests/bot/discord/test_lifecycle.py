"""Starting the bot: command sync, `newsdesk run` / `newsdesk sync`, tokens, shards, /help."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from newsdesk.bot.cli import main
from tests.support.discord_bot import ARTICLES, EPHEMERAL, command, db_rows, make_bot, seed, serve, settle
from tests.support.fake_discord import run_bot

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

COMMAND_NAMES = {"ask", "search", "article", "corpus", "help", "latest", "timeline", "follow", "unfollow", "feed"}


def command_puts(fake_discord) -> list:
    return fake_discord.find_requests(method="PUT", path=rf"/applications/{fake_discord.application_id}/commands")


async def test_starting_syncs_commands_only_when_they_changed(fake_discord, guild, settings):
    async with serve(make_bot(settings)):
        pass
    assert {c["name"] for c in command_puts(fake_discord)[0].json} == COMMAND_NAMES
    async with serve(make_bot(settings)):
        pass
    assert len(command_puts(fake_discord)) == 1  # same schema: no second sync

    changed = make_bot(settings)

    @changed.tree.command(description="A command added since the last sync.")
    async def extra(interaction: discord.Interaction) -> None: ...

    async with serve(changed):
        pass
    assert len(command_puts(fake_discord)) == 2
    assert {c["name"] for c in command_puts(fake_discord)[1].json} == COMMAND_NAMES | {"extra"}


@pytest.fixture
def cli_config(tmp_path, fake_discord, monkeypatch):
    """A config file for `newsdesk` pointing at the fake through [discord] api_base / gateway_url.

    discord.py is first pointed somewhere unreachable, so only the product's own
    redirect can reach the fake; DISCORD_TOKEN is unset and restored afterwards (also
    when a .env file sets it).
    """
    monkeypatch.setattr(discord.http.Route, "BASE", "http://discord.invalid/api/v10")
    monkeypatch.setenv("DISCORD_TOKEN", "placeholder")
    monkeypatch.delenv("DISCORD_TOKEN")
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "newsdesk.toml"
    config.write_text(
        f'[storage]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[corpus]\ndir = "{tmp_path / "corpus"}"\n'
        '[model]\nbackend = "hashing"\n[reader]\nenabled = false\n'
        f'[discord]\napi_base = "{fake_discord.api_base}"\ngateway_url = "{fake_discord.gateway_url}"\n',
        encoding="utf-8",
    )
    return config


async def test_newsdesk_sync_to_one_server_with_the_token_from_dotenv(fake_discord, guild, cli_config, capsys):
    (cli_config.parent / ".env").write_text("DISCORD_TOKEN=from-dotenv\n", encoding="utf-8")
    code = await asyncio.to_thread(main, ["--config", str(cli_config), "sync", "--guild", str(guild.id)])
    assert code == 0
    (put,) = fake_discord.find_requests(method="PUT", path=rf"/applications/\d+/guilds/{guild.id}/commands")
    assert {c["name"] for c in put.json} == COMMAND_NAMES
    assert capsys.readouterr().out == f"Synced {len(COMMAND_NAMES)} command(s) to server {guild.id}.\n"
    assert not fake_discord.gateway_received  # syncing needs no gateway connection


async def test_a_rejected_token_is_one_line_without_a_traceback(fake_discord, cli_config, monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")
    fake_discord.fail_next("GET", "/users/@me", status=401)
    code = await asyncio.to_thread(main, ["--config", str(cli_config), "run"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("newsdesk: Discord rejected the token in DISCORD_TOKEN") and err.count("\n") == 1
    assert "not-a-real-token" not in err


def test_a_missing_token_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .env here or above
    monkeypatch.setenv("DISCORD_TOKEN", "")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err == "newsdesk: no Discord token: set DISCORD_TOKEN in the environment or in a .env file.\n"


async def test_a_sharded_bot_connects_every_shard_and_answers_on_each(fake_discord, settings):
    """The fake sends each guild's events only to the shard that owns it, as Discord does."""
    guilds = [fake_discord.add_guild(name=f"Server {i}", shard=(i % 2, 2)) for i in range(4)]
    sharded = make_bot(settings, shard_count=2)

    async def identify_at_once(shard_id: int, *, initial: bool = False) -> None:
        """Discord allows one IDENTIFY per 5 s, and discord.py waits that long; the fake does not care."""

    sharded.before_identify_hook = identify_at_once
    async with serve(sharded) as bot:
        assert bot.shard_count == 2 and len(bot.guilds) == 4
        assert sorted(guild.shard_id for guild in bot.guilds) == [0, 0, 1, 1]
        for guild in guilds:
            shown = await command(fake_discord, "help", channel_id=guild.channels["general"])
            assert "`/ask`" in shown["embeds"][0]["fields"][0]["value"]
    assert sorted(f["d"]["shard"] for f in fake_discord.gateway_received if f["op"] == 2) == [[0, 2], [1, 2]]


async def test_help_lists_every_command_in_one_private_screen(fake_discord, guild, settings):
    async with serve(make_bot(settings)):
        shown = await command(fake_discord, "help")
    assert shown["flags"] == EPHEMERAL
    fields = {f["name"]: f["value"] for f in shown["embeds"][0]["fields"]}
    assert "`/ask`" in fields["Commands"] and "`/corpus add`" not in fields["Commands"]
    assert "`/corpus add`" in fields["For admins (Manage Server, or the role chosen with /corpus admin-role)"]



async def test_the_token_never_reaches_the_logs_or_the_store(fake_discord, guild, settings, caplog):
    """Everything logged at every level during a session, and every file the bot keeps, is token-free."""
    token = "MTA5.newsdesk-secret-token.Zz9"
    caplog.set_level(logging.DEBUG)
    await seed(settings, ARTICLES)
    async with run_bot(make_bot(settings), token=token):
        await command(fake_discord, "ask", {"question": ARTICLES[0]["title"]})
        await settle()
    assert caplog.records and token not in caplog.text
    assert all(token not in str(value) for row in db_rows(settings, "SELECT key, value FROM meta") for value in row)
    for path in settings.storage.data_dir.rglob("*"):
        assert path.is_dir() or token.encode() not in path.read_bytes(), path
    # the fake did receive it: the check above is not vacuous
    assert any(token in str(message) for message in fake_discord.gateway_received)
