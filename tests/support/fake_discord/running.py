"""Running a discord.py client against the installed fake: `run_bot`.

Use::

    fake = FakeDiscord()
    await fake.start()
    fake.install(monkeypatch)  # or redirect the client as bench/discord_load.py does
    fake.add_guild(name="News")
    bot = make_bot()  # guild_ready_timeout=0.05, see run_bot
    async with run_bot(bot):
        sent = await fake.send_interaction("ping")
        await fake.wait_for_request(method="POST", path=sent.followup_path)

In the tests, the `fake_discord` fixture (tests/conftest.py) starts and installs the fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import discord

ClientT = TypeVar("ClientT", bound=discord.Client)


@asynccontextmanager
async def run_bot(bot: ClientT, token: str = "test-token", *, timeout: float = 10.0) -> AsyncIterator[ClientT]:
    """Log ``bot`` in against the installed fake, connect, and yield once it is ready.

    Build the bot with ``guild_ready_timeout=0.05``: discord.py waits that long after the
    last GUILD_CREATE before ``on_ready`` (default 2 s; 0 would skip guilds). With the
    ``members`` intent nothing needs chunking at startup, since the fake's GUILD_CREATE
    carries every member (``chunk_guilds_at_startup=False`` is harmless); the fake also
    answers op 8, so ``Guild.query_members`` works.

    The gateway is connected with ``reconnect=False`` so a dropped or broken gateway ends
    the bot instead of retrying with backoff. On exit the bot is closed and its task
    awaited, so an exception that killed the connection is raised in the test.
    """
    connect: asyncio.Task[None] | None = None
    try:
        await bot.login(token)  # runs setup_hook; raises here if login fails
        connect = asyncio.create_task(bot.connect(reconnect=False), name="bot.connect")
        ready = asyncio.ensure_future(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait({connect, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if connect in done:
            raise RuntimeError("the bot's gateway connection ended before READY")  # the cause is re-raised below
        if ready not in done:
            raise TimeoutError(f"the bot was not ready within {timeout}s")
        yield bot
    finally:
        await bot.close()
        if connect is not None:
            await connect
