"""The bot's end-to-end fixtures: the real NewsdeskBot and engine against the loopback Discord.

`fake_discord` and `fail_on_error_logs` come from tests/conftest.py; the helpers these are built on
(and that tests import) are in tests/support/discord_bot.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from newsdesk.bot.discord import NewsdeskBot
from newsdesk.index import Settings
from tests.support.discord_bot import ARTICLES, assert_nobody_pinged, bot_settings, make_bot, seed, serve
from tests.support.fake_discord import FakeDiscord, FakeGuild


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for the bot (tests.support.discord_bot.bot_settings) in tmp_path."""
    return bot_settings(tmp_path)


@pytest.fixture
def guild(fake_discord: FakeDiscord) -> FakeGuild:
    return fake_discord.add_guild(name="News", channels=["general", "world"])


@pytest.fixture
async def newsdesk(fake_discord: FakeDiscord, guild: FakeGuild, settings: Settings) -> AsyncIterator[NewsdeskBot]:
    """The bot, connected and ready, with ARTICLES in the global corpus and one guild."""
    await seed(settings, ARTICLES)
    async with serve(make_bot(settings)) as bot:
        yield bot


@pytest.fixture
def nobody_pinged(fake_discord: FakeDiscord) -> Iterator[None]:
    """After the test, check that no message the bot sent could have pinged anyone."""
    yield
    assert_nobody_pinged(fake_discord)
