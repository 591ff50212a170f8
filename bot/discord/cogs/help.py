"""`/help`: what the bot can do, in one screen; the command list is read from the tree, so it cannot drift."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from ..admins import CHOOSE_ROLE
from ..client import NewsdeskBot
from ..embeds import ANSWER_COLOUR
from ..replies import send

INTRO = (
    "I answer questions about the news with **verbatim quotes** from stored articles, "
    "the key sentence in bold; I never word an answer myself, and I say so when nothing fits.\n\n"
    "**Ask** by mentioning me with a question, in a DM, or with `/ask`. Under an answer, **More** shows "
    "further quotes, **Full article…** opens one, and 👍 / 👎 tell the maintainers whether it helped."
)


class Help(commands.Cog):
    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot

    @app_commands.command(description="What I can do")
    async def help(self, interaction: discord.Interaction) -> None:
        await send(interaction, embed=self._embed(), ephemeral=True)

    def _embed(self) -> discord.Embed:
        everyone, admins = [], []
        for command in self.bot.tree.walk_commands():
            if isinstance(command, app_commands.Command):
                restricted = (command.root_parent or command).default_permissions is not None
                (admins if restricted else everyone).append(f"`/{command.qualified_name}` {command.description}")
        embed = discord.Embed(title="newsdesk", description=INTRO, colour=ANSWER_COLOUR)
        embed.add_field(name="Commands", value="\n".join(everyone), inline=False)
        if admins:
            heading = f"For admins (Manage Server, or the role chosen with {CHOOSE_ROLE})"
            embed.add_field(name=heading, value="\n".join(admins), inline=False)
        return embed


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(Help(bot))
