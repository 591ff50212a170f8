"""Shard ranges: `newsdesk run --shard-ids I,J --shard-count N`, several processes serving one bot."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from newsdesk.bot.cli import main
from newsdesk.index.store.postgres import DATABASE_URL_ENV
from tests.support.dated_news import STRIKE_ENDS, STRIKE_TOPIC
from tests.support.discord_bot import MANAGE_GUILD, command, upload
from tests.support.engines import ORCHARD, db_rows, hashing_settings, write_jsonl
from tests.support.fake_discord import FakeDiscord
from tests.support.processes import newsdesk_run, unless_one_ends

pytestmark = pytest.mark.usefixtures("fail_on_error_logs", "nobody_pinged")

SPACING = 1.5  # seconds between two IDENTIFYs of one bucket, for the test (Discord's: 5)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["--shard-ids", "0,4", "--shard-count", "4"], "shard id 4 is out of range: with --shard-count 4 the ids are 0 to 3"),
        (["--shard-ids", "2,0,2", "--shard-count", "4"], "--shard-ids lists shard 2 more than once"),
        (["--shard-ids", "0,1"], "--shard-ids needs --shard-count"),
        (["--shard-ids", "0-3", "--shard-count", "4"], "--shard-ids takes shard numbers separated by commas"),
        (["--shard-count", "0"], "--shard-count must be at least 1"),
    ],
)
def test_a_bad_shard_range_is_refused_in_one_line(arguments, reason, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "unused")  # refused before any connection
    assert main(["run", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"newsdesk run: {reason}") and err.count("\n") == 1


def process_config(tmp_path: Path, name: str, fake: FakeDiscord, backend: str, scan_seconds: float) -> Path:
    """A config for one process: its own data folder, the fake Discord, and where it takes IDENTIFY turns.

    With the embedded store the processes share a folder of lock files; with PostgreSQL each
    has a folder of its own, so that only the database they share can keep them apart.
    """
    folder = tmp_path / name
    (folder / "corpus").mkdir(parents=True)
    lock_folder = tmp_path / "identify" if backend == "sqlite" else folder / "identify"
    config = folder / "newsdesk.toml"
    config.write_text(
        f'[storage]\nbackend = "{backend}"\ndata_dir = "{folder / "data"}"\n'
        f'[corpus]\ndir = "{folder / "corpus"}"\n'
        # abstention off: its threshold is calibrated on the real model's scores, not the hashing embedder's
        '[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[retrieval]\nabstain_below = 0.0\n'
        f'[discord]\napi_base = "{fake.api_base}"\ngateway_url = "{fake.gateway_url}"\n'
        f'identify_seconds = {SPACING}\nidentify_lock_dir = "{lock_folder}"\ncorpus_scan_seconds = {scan_seconds}\n',
        encoding="utf-8",
    )
    return config


def bot_process(
    tmp_path: Path, name: str, fake: FakeDiscord, backend: str, *arguments: str, scan_seconds: float = 0
) -> AbstractAsyncContextManager[asyncio.subprocess.Process]:
    """`newsdesk run ARGUMENTS` in a process of its own (NEWSDESK_DATABASE_URL passed on); its log
    (tmp_path/NAME.log) must hold no error when it ends."""
    config = process_config(tmp_path, name, fake, backend, scan_seconds)
    return newsdesk_run(config, tmp_path / f"{name}.log", *arguments)


async def all_shards_ready(fake: FakeDiscord, *processes: asyncio.subprocess.Process) -> None:
    await unless_one_ends(fake.wait_ready(shards=range(4), timeout=60), *processes)


async def test_two_processes_take_turns_to_identify_and_each_serves_its_guilds(tmp_path, fake_discord, storage_backend):
    """Shards 0,1 in one process and 2,3 in another, with two IDENTIFY buckets (max_concurrency 2):
    shards 0 and 2 share bucket 0, 1 and 3 bucket 1. Both processes reach IDENTIFY at once (the
    fake holds HELLO until both are connected), so only their taking turns keeps them apart: through
    lock files with the embedded store, through the database with PostgreSQL."""
    fake = fake_discord
    fake.max_concurrency = 2
    guilds = {shard: fake.add_guild(name=f"On shard {shard}", shard=(shard, 4)) for shard in range(4)}
    fake.hold_hello()
    async with (
        bot_process(tmp_path, "first", fake, storage_backend, "--shard-ids", "0,1", "--shard-count", "4") as first,
        bot_process(tmp_path, "second", fake, storage_backend, "--shard-ids", "2,3", "--shard-count", "4") as second,
    ):
        await unless_one_ends(fake.release_hello(once_connected=2), first, second)
        await all_shards_ready(fake, first, second)
        # Each guild's command reaches only the process running its shard (the fake routes it
        # there, as Discord does), and is answered.
        for guild in guilds.values():
            shown = await command(fake, "help", channel_id=guild.channels["general"])
            assert "`/ask`" in shown["embeds"][0]["fields"][0]["value"]

    assert sorted(record.shard for record in fake.identifies) == [(shard, 4) for shard in range(4)]
    for bucket in (0, 1):
        turns = sorted((r for r in fake.identifies if r.bucket(2) == bucket), key=lambda r: r.at)
        assert len(turns) == 2
        earlier, later = turns
        assert earlier.ready_at is not None and earlier.ready_at < later.at  # never two at once
        # The fake's own clock; a few ms' slack for the IDENTIFY's trip after its turn is stamped.
        assert later.at - earlier.at >= SPACING - 0.05, (bucket, later.at - earlier.at)
    if storage_backend == "postgres":
        rows = await db_rows(hashing_settings(tmp_path, "postgres"), "SELECT application_id, bucket FROM discord_identify ORDER BY bucket")
        assert rows == [(fake.application_id, 0), (fake.application_id, 1)]



@pytest.mark.postgres
async def test_processes_sharing_postgresql_hear_each_others_articles_and_lose_no_upload(
    tmp_path, fake_discord, postgres_dsn, monkeypatch
):
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_dsn)
    fake = fake_discord
    on_first = fake.add_guild(name="On shard 0", shard=(0, 4), channels=["general", "world"])
    on_second = fake.add_guild(name="On shard 2", shard=(2, 4), channels=["general", "world"])
    first_range = ("--shard-ids", "0,1", "--shard-count", "4")
    async with bot_process(tmp_path, "second", fake, "postgres", "--shard-ids", "2,3", "--shard-count", "4") as second:
        async with bot_process(tmp_path, "first", fake, "postgres", *first_range, scan_seconds=0.5) as first:
            await all_shards_ready(fake, first, second)
            # The second process's server follows a story; the story arrives in the first process's
            # corpus/ folder; the second hears of it from the database and posts it.
            world = on_second.channels["world"]
            await command(fake, "follow", {"add": {"topic": STRIKE_TOPIC}}, channel_id=world, permissions=MANAGE_GUILD)
            write_jsonl(tmp_path / "first" / "corpus" / "news.jsonl", [STRIKE_ENDS])
            post = await fake.wait_for_request(method="POST", path=f"/channels/{world}/messages", timeout=30)
            assert post.json["embeds"][0]["title"] == STRIKE_ENDS["title"]
            # An upload through the first process is acknowledged, and the process dies.
            orchard = write_jsonl(tmp_path / "orchard.jsonl", [ORCHARD]).read_bytes()
            await upload(fake, ("orchard.jsonl", orchard), permissions=MANAGE_GUILD)
            first.kill()
            await first.wait()
        # Another process takes over its shards: the upload is there for the server's question.
        async with bot_process(tmp_path, "first-again", fake, "postgres", *first_range) as first_again:
            await all_shards_ready(fake, first_again, second)
            answer = await command(fake, "ask", {"question": "what happened to the price of cider apples?"})
    assert any("cider apples fell" in embed["description"] for embed in answer["embeds"]), answer
    posted = [r for r in fake.find_requests(method="POST", path=r"/channels/\d+/messages") if r.status == 200]
    assert len(posted) == 1  # once, by the process that runs the following server
