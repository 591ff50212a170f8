"""newsdesk on Discord: the bot client, its cogs, and how answers become messages."""

from .client import NewsdeskBot
from .config import DiscordConfig, redirect_discord

__all__ = ["DiscordConfig", "NewsdeskBot", "redirect_discord"]
