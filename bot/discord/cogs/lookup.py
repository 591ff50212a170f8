"""Looking articles up: `/search` (matching articles) and `/article` (one article, in full)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..articles import article_choices, find_article, scopes_for
from ..client import NewsdeskBot
from ..embeds import article_line, article_pages, echo, listing_pages
from ..limits import MemberLimit
from ..replies import send
from ..views import Paginator

SEARCH_RESULTS = 25


class Lookup(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        self._searches = MemberLimit(bot.config.search_rate, bot.config.search_per_seconds, "searching", "search")

    @app_commands.command(description="Find articles about something: titles, sources and dates.")
    @app_commands.describe(query="What the articles should be about")
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        self._searches.take_turn(interaction.user)
        query = self.bot.engine.check_question(query)
        await interaction.response.defer(thinking=True)
        rows = await self.bot.engine.search_articles(query, scopes_for(interaction.guild_id), SEARCH_RESULTS)
        if not rows:
            await send(interaction, content=f"No article matches {echo(query)}.")
            return
        lines = [f"{number}. {article_line(row)}" for number, row in enumerate(rows, start=1)]
        await Paginator.show(interaction, listing_pages(f"Articles about {echo(query)}", lines))

    @app_commands.command(description="Read an article in full.")
    @app_commands.describe(title="Start typing a title and pick the article")
    async def article(self, interaction: discord.Interaction, title: str) -> None:
        await interaction.response.defer(thinking=True)
        found = await find_article(self.bot.engine, scopes_for(interaction.guild_id), title)
        if found is None:
            await send(interaction, content=f"No single article matches {echo(title)}: pick one of the suggestions.")
            return
        await Paginator.show(interaction, article_pages(found))

    @article.autocomplete("title")
    async def article_title(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return await article_choices(self.bot.engine, scopes_for(interaction.guild_id), typed)


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(Lookup(bot))
