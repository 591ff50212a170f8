"""Fixtures and helpers for end-to-end tests of a discord.py bot against tests.support.fake_discord.

Use::

    async def test_something(fake_discord, fail_on_error_logs):
        fake_discord.add_guild(name="News")
        bot = make_bot()  # guild_ready_timeout=0.05, see run_bot
        async with run_bot(bot):
            sent = await fake_discord.send_interaction("ping")
            await fake_discord.wait_for_request(method="POST", path=sent.followup_path)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

import discord
import pytest

from tests.support.fake_discord import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord that discord.py is pointed at for the duration of the test.

    Fails the test at teardown if the bot made a request the fake has no endpoint for:
    the fake answered it with an invented 404, so whatever the test saw is not evidence.
    """
    fake = FakeDiscord()
    await fake.start()
    fake.install(monkeypatch)
    yield fake
    await fake.stop()
    if fake.unrouted_requests:
        calls = "\n".join(f"  {r.method} {r.path}" for r in fake.unrouted_requests)
        pytest.fail(f"the bot called endpoints the fake Discord does not implement:\n{calls}")


class _ErrorRecords(logging.Handler):
    """Collects records at ERROR and above, whichever logger emits them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def fail_on_error_logs() -> Iterator[list[logging.LogRecord]]:
    """Fail the test if anything logged at ERROR while it ran.

    discord.py only *logs* exceptions raised in event handlers and app commands ("Ignoring
    exception in ..."), so without this a crashing handler, or a payload the fake got
    wrong, shows up as a mere timeout or not at all. Yields the list of records so a test
    that expects an error can check and clear it.
    """
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)
    if handler.records:
        pytest.fail("ERROR logged during the test:\n" + "\n".join(handler.format(r) for r in handler.records))


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
