"""Asking: `/ask`, and questions put to the bot by @mention or DM."""

from __future__ import annotations

import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from ..articles import scopes_for
from ..client import NewsdeskBot
from ..replies import NO_MENTIONS, explain, send
from ..views import AnswerView

log = logging.getLogger(__name__)


class Asking(commands.Cog):
    """Answers questions with quotes; each member may ask `ask_rate` questions per `ask_per_seconds`."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        config = bot.config
        # One budget per member across /ask, mentions and DMs, so no way of asking skips it.
        self._cooldowns = commands.CooldownMapping(
            commands.Cooldown(config.ask_rate, config.ask_per_seconds), lambda user: user.id
        )

    def _take_turn(self, user: discord.abc.User) -> None:
        """Count a question against the member's budget; raises CommandOnCooldown when it is spent."""
        bucket = self._cooldowns.get_bucket(user)
        retry_after = bucket.update_rate_limit() if bucket else None
        if retry_after:
            raise app_commands.CommandOnCooldown(bucket, retry_after)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """The cooldown check on this cog's slash commands; the tree's handler explains a refusal."""
        self._take_turn(interaction.user)
        return True

    async def _answer_view(self, question: str, guild_id: int | None) -> AnswerView:
        scopes = scopes_for(guild_id)
        config = self.bot.config
        answer = await self.bot.engine.ask(question, scopes, config.answer_quotes)
        return AnswerView(self.bot.engine, answer, scopes, config.quotes_per_message)

    @app_commands.command(description="Ask a question; I answer with quotes from news articles.")
    @app_commands.describe(question="What you want to know", private="Show the answer only to you")
    async def ask(self, interaction: discord.Interaction, question: str, private: bool = False) -> None:
        question = self.bot.engine.check_question(question)  # refused before deferring, so privately
        await interaction.response.defer(ephemeral=private, thinking=True)
        view = await self._answer_view(question, interaction.guild_id)
        view.message = await send(interaction, embeds=view.embeds, view=view, ephemeral=private)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A DM, or a server message mentioning the bot, is a question; the answer replies to it."""
        me = self.bot.user
        if message.author.bot or me is None:  # other bots, and the bot itself
            return
        if message.guild is not None and me not in message.mentions:
            return
        try:
            self._take_turn(message.author)
            question = self.bot.engine.check_question(_without_mentions_of(me, message.content))
            async with message.channel.typing():
                view = await self._answer_view(question, message.guild.id if message.guild else None)
            view.message = await message.reply(
                embeds=view.embeds, view=view, mention_author=False, allowed_mentions=NO_MENTIONS
            )
        except discord.Forbidden:
            log.info("may not reply in channel %s", message.channel.id)
        except Exception as error:  # the member hears why; explain() logs faults of ours
            text = explain(error, f"the answer to message {message.id}")
            await message.reply(text, mention_author=False, allowed_mentions=NO_MENTIONS)


def _without_mentions_of(user: discord.abc.User, text: str) -> str:
    """The question in a message, without the mentions that addressed it to the bot."""
    return re.sub(rf"<@!?{user.id}>", " ", text)


async def setup(bot: NewsdeskBot) -> None:
    await bot.add_cog(Asking(bot))
