"""Feeds: admins subscribe their server to RSS, Atom and JSON feeds; the bot polls them while it runs.

A server's feeds bring articles into its own scope, like its uploads. Polling runs in the
background (`Feeds.watch`), its ingest off the question path, so it never holds up /ask.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import escape_markdown

from newsdesk.index.feeds import FeedRefused, PollReport, feed_state
from newsdesk.index.store import FeedRow

from ..admins import admin_choices, check_admin
from ..articles import CHOICE_NAME_LIMIT, CHOICES_LIMIT, own_scope
from ..client import NewsdeskBot
from ..embeds import clip, listing_pages
from ..replies import MemberError, send
from ..views import Paginator

log = logging.getLogger(__name__)


def _when(epoch: float | None) -> str:
    """A Discord timestamp: each member sees it in their own time zone, and how long ago."""
    return f"<t:{int(epoch)}:R>" if epoch else "never"


def feed_line(feed: FeedRow, state: str) -> str:
    """A feed in /feed list: title, url, state, article count, last success, next poll and last error."""
    state = "⚠️ failing" if state == "failing" else state
    lines = [
        f"`{feed.id}` **{escape_markdown(clip(feed.title or 'Untitled feed', 100))}** · {state}",
        f"<{feed.url}>",
        f"{feed.articles} article(s) · last success {_when(feed.last_success_at)} · next poll {_when(feed.next_poll_at)}",
    ]
    if feed.last_error:
        lines.append(f"Last error: {escape_markdown(clip(feed.last_error, 300))}")
    return "\n".join(lines) + "\n"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Feeds(commands.GroupCog, group_name="feed", group_description="This server's news feeds (admins)"):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self._polling: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if self.bot.serve:  # not for `newsdesk sync`
            self._polling = asyncio.create_task(self.bot.engine.feeds.watch(self._polled), name="newsdesk: feeds")

    async def cog_unload(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        await check_admin(interaction, "change the feeds")
        return True

    @app_commands.command(description="Subscribe this server to an RSS, Atom or JSON feed")
    @app_commands.describe(url="The feed's address (http or https)")
    async def add(self, interaction: discord.Interaction, url: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            added = await self.bot.engine.feeds.add(url, own_scope(interaction.guild_id), "discord")
        except FeedRefused as refused:
            raise MemberError(f"That feed was not added: {refused}") from None
        title = escape_markdown(added.feed.title or added.feed.url)
        limited = f" Note: {escape_markdown(added.limited)}." if added.limited else ""
        await send(
            interaction,
            content=f"Subscribed to **{title}** ({added.entries} item(s) in the feed now). "
            f"Its articles are being taken in; /feed list shows how it goes.{limited}",
            ephemeral=True,
        )

    @app_commands.command(name="list", description="This server's feeds and how their polling goes")
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        feeds = await self.bot.engine.feeds.list([own_scope(interaction.guild_id)])
        if not feeds:
            await send(interaction, content="This server has no feeds yet: add one with /feed add.", ephemeral=True)
            return
        settings = self.bot.engine.feeds.settings
        lines = [feed_line(feed, feed_state(feed, settings)) for feed in feeds]
        await Paginator.show(interaction, listing_pages(f"{len(feeds)} feed(s)", lines), ephemeral=True)

    @app_commands.command(description="Unsubscribe this server from a feed")
    @app_commands.describe(feed="Start typing its title and pick the feed", remove_articles="Also remove its articles")
    async def remove(self, interaction: discord.Interaction, feed: str, remove_articles: bool = False) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        scope = [own_scope(interaction.guild_id)]
        removed = await self.bot.engine.feeds.remove(int(feed), scope, remove_articles) if feed.isdigit() else None
        if removed is None:
            raise MemberError("None of this server's feeds matches that; pick one of the suggestions.")
        title = escape_markdown(removed.feed.title or removed.feed.url)
        what = f" and {removed.articles_removed} of its article(s)" if remove_articles else "; its articles stay"
        await send(interaction, content=f"Unsubscribed from **{title}**{what}.", ephemeral=True)

    @remove.autocomplete("feed")
    @admin_choices
    async def remove_choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        feeds = await self.bot.engine.feeds.list([own_scope(interaction.guild_id)])
        typed = typed.strip().casefold()
        matching = [f for f in feeds if typed in (f.title or "").casefold() or typed in f.url.casefold()]
        return [
            app_commands.Choice(name=clip(f"{f.title or 'Untitled'} ({f.url})", CHOICE_NAME_LIMIT), value=str(f.id))
            for f in matching[:CHOICES_LIMIT]
        ]

    def _polled(self, report: PollReport) -> None:
        self.bot.metrics.polled(report)
        _log_report(report)


def _log_report(report: PollReport) -> None:
    if report.added or report.updated:
        log.info("feed %s: %d added, %d updated", report.url, len(report.added), len(report.updated))


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(Feeds(bot))
