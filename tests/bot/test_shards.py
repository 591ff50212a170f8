"""Shard ranges: `newsdesk run --shard-ids I,J --shard-count N`, several processes serving one bot."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from newsdesk.bot.cli import main
from tests.conftest_bot import command, nobody_pinged  # noqa: F401  (nobody_pinged: a fixture)
from tests.fake_discord import FakeDiscord

DATABASE_URL_ENV = "NEWSDESK_DATABASE_URL"  # as the product reads it (newsdesk.index.store.postgres)

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


def process_config(tmp_path: Path, name: str, fake: FakeDiscord, backend: str) -> Path:
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
        '[model]\nbackend = "hashing"\n'
        f'[discord]\napi_base = "{fake.api_base}"\ngateway_url = "{fake.gateway_url}"\n'
        f'identify_seconds = {SPACING}\nidentify_lock_dir = "{lock_folder}"\n',
        encoding="utf-8",
    )
    return config


@asynccontextmanager
async def bot_process(tmp_path: Path, name: str, fake: FakeDiscord, backend: str, *arguments: str) -> AsyncIterator[Path]:
    """`newsdesk run ARGUMENTS` in a process of its own (NEWSDESK_DATABASE_URL passed on); yields its
    log file, checked for errors at the end."""
    log = tmp_path / f"{name}.log"
    config = process_config(tmp_path, name, fake, backend)
    command_line = [sys.executable, "-m", "newsdesk.bot.cli", "--config", str(config), "run", *arguments]
    with open(log, "wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command_line, stdout=out, stderr=out, env={**os.environ, "DISCORD_TOKEN": "test-token"}
        )
    try:
        yield log
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "ERROR" not in text and "Traceback" not in text, text


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
        bot_process(tmp_path, "first", fake, storage_backend, "--shard-ids", "0,1", "--shard-count", "4"),
        bot_process(tmp_path, "second", fake, storage_backend, "--shard-ids", "2,3", "--shard-count", "4"),
    ):
        await fake.release_hello(once_connected=2)
        await fake.wait_ready(shards=range(4), timeout=60)
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
        rows = await database_rows("SELECT application_id, bucket FROM discord_identify ORDER BY bucket")
        assert rows == [(fake.application_id, 0), (fake.application_id, 1)]


async def database_rows(sql: str) -> list[tuple]:
    """Rows of the database named by NEWSDESK_DATABASE_URL, read as an operator would."""
    import asyncpg

    connection = await asyncpg.connect(os.environ[DATABASE_URL_ENV])
    try:
        return [tuple(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()
