"""The news by date: `/latest` (the newest articles, or the newest quotes about a topic) and `/timeline`."""

from __future__ import annotations

from collections.abc import Sequence

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import escape_markdown

from newsdesk.index import Quote

from ..articles import scopes_for
from ..client import NewsdeskBot
from ..embeds import age, article_line, clip, echo, listing_pages
from ..limits import MemberLimit
from ..replies import send
from ..views import Paginator

# Articles or quotes listed by one command, a few pages' worth.
LISTED = 25
# A quote's key sentence in a list; the whole passage is one /ask away.
LINE_QUOTE_CHARS = 400


def quote_lines(quotes: Sequence[Quote]) -> list[str]:
    """Each quote as a list entry: its article (title, source, date) and age, then its key sentence, verbatim."""
    lines = []
    for quote in quotes:
        when = age(quote.article)
        head = f"**{article_line(quote.article)}**" + (f" · {when}" if when else "")
        lines.append(f"{head}\n> {escape_markdown(clip(quote.highlight, LINE_QUOTE_CHARS))}\n")
    return lines


class News(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        # /latest with a topic and /timeline: one budget, as both search quotes the same way.
        self._searches = MemberLimit(bot.config.search_rate, bot.config.search_per_seconds, "searching", "search")

    @app_commands.command(description="The newest articles, or the newest quotes about a topic.")
    @app_commands.describe(topic="Only quotes about this (leave empty for the newest articles)")
    async def latest(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        engine = self.bot.engine
        scopes = scopes_for(interaction.guild_id)
        if topic is None:
            await interaction.response.defer(thinking=True)
            rows = await engine.articles(scopes, limit=LISTED)
            if not rows:
                await send(interaction, content="There are no articles yet.")
                return
            lines = [f"{article_line(row)}" + (f" · {age(row)}" if age(row) else "") for row in rows]
            await Paginator.show(interaction, listing_pages("The newest articles", lines))
            return
        self._searches.take_turn(interaction.user)
        topic = engine.check_question(topic)  # refused before deferring, so privately
        await interaction.response.defer(thinking=True)
        quotes = await engine.dated_quotes(topic, scopes, newest_first=True, limit=LISTED)
        await self._show(interaction, quotes, f"The latest on {echo(topic)}", topic)

    @app_commands.command(description="How a story developed: quotes about a topic, oldest first.")
    @app_commands.describe(topic="The story to follow through the articles")
    async def timeline(self, interaction: discord.Interaction, topic: str) -> None:
        self._searches.take_turn(interaction.user)
        topic = self.bot.engine.check_question(topic)
        await interaction.response.defer(thinking=True)
        quotes = await self.bot.engine.dated_quotes(
            topic, scopes_for(interaction.guild_id), newest_first=False, limit=LISTED
        )
        await self._show(interaction, quotes, f"Timeline: {echo(topic)}", topic)

    async def _show(self, interaction: discord.Interaction, quotes: list[Quote], title: str, topic: str) -> None:
        if not quotes:
            await send(interaction, content=f"No dated article answers {echo(topic)}.")
            return
        await Paginator.show(interaction, listing_pages(title, quote_lines(quotes)))


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(News(bot))
