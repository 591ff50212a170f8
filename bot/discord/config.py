"""The bot's settings: the `[discord]` table of the config, which the engine keeps but does not read."""

from __future__ import annotations

from dataclasses import dataclass

import discord
import yarl

from newsdesk.index import Settings
from newsdesk.index.settings import SettingsError, read_section

from .embeds import EMBEDS_PER_MESSAGE


@dataclass(frozen=True)
class DiscordConfig:
    """`[discord]` in config/default.toml; the comments there say what each key does."""

    ask_rate: int = 3
    ask_per_seconds: float = 30.0
    search_rate: int = 5
    search_per_seconds: float = 30.0
    answer_quotes: int = 9
    quotes_per_message: int = 3
    corpus_scan_seconds: float = 60.0
    follow_posts: int = 5
    follow_per_seconds: float = 60.0
    api_base: str = ""
    gateway_url: str = ""
    identify_seconds: float = 5.0
    identify_lock_dir: str = ""

    def __post_init__(self) -> None:
        for rate in ("ask_rate", "search_rate"):
            if getattr(self, rate) < 1:
                raise SettingsError(f"config: [discord] {rate} must be at least 1")
        if not 1 <= self.quotes_per_message <= EMBEDS_PER_MESSAGE:
            limit = EMBEDS_PER_MESSAGE  # one embed per quote
            raise SettingsError(f"config: [discord] quotes_per_message must be between 1 and {limit}")

    @classmethod
    def from_settings(cls, settings: Settings) -> "DiscordConfig":
        """Read `settings.extra["discord"]`; an unknown key is an error, as in the engine's sections."""
        table = settings.extra.get("discord", {})
        if "admin_role" in table:  # matched by name, it let anyone with Manage Roles make themselves an admin
            raise SettingsError(
                "config: [discord] admin_role (a role name) is no longer read: remove it. "
                "A server's Manage Server members choose its admin role with /corpus admin-role."
            )
        return read_section(cls, table, "discord")


def redirect_discord(config: DiscordConfig) -> None:
    """Point discord.py at the server named by `api_base`/`gateway_url`, if any.

    The one place the product redirects discord.py, so that `newsdesk run` can be driven
    against a loopback Discord in tests. Both are class attributes read at call time.
    Left empty (the default), nothing changes.
    """
    if config.api_base:
        discord.http.Route.BASE = config.api_base.rstrip("/")
    if config.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)
