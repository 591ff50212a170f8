"""Asking: `/ask`, and questions put to the bot by @mention or DM."""

from __future__ import annotations

import logging
import re
import time

import discord
from discord import app_commands
from discord.ext import commands

from ..articles import scopes_for
from ..client import NewsdeskBot
from ..limits import MemberLimit
from ..replies import NO_MENTIONS, explain, period_missed, read_so_far, send, still_reading
from ..views import AnswerView

log = logging.getLogger(__name__)


class Asking(commands.Cog):
    """Answers questions with quotes; each member may ask `ask_rate` questions per `ask_per_seconds`."""

    def __init__(self, bot: NewsdeskBot) -> None:
        self.bot = bot
        # One budget per member across /ask, mentions and DMs, so no way of asking skips it.
        self._questions = MemberLimit(bot.config.ask_rate, bot.config.ask_per_seconds, "asking", "question")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """The budget check on this cog's slash commands; the tree's handler explains a refusal."""
        self._questions.take_turn(interaction.user)
        return True

    async def _answer(
        self, question: str, guild_id: int | None, since: str | None = None, until: str | None = None
    ) -> tuple[str | None, AnswerView | None]:
        """The note and the answer's view; while corpus/ is still being read at start-up, the note says so.

        Then an answer found is shown under a note that it comes from the articles read so
        far, and no answer is "still reading", never "nothing answers that". When the question
        named days (say "today") none of whose articles answers, the note says the quotes are
        from other days.
        """
        progress = self.bot.reading.progress()  # before asking: what the search could see
        scopes = scopes_for(guild_id)
        config = self.bot.config
        started = time.perf_counter()
        answer = await self.bot.engine.ask(question, scopes, config.answer_quotes, since, until)
        self.bot.metrics.answered(answer, time.perf_counter() - started)
        if progress is not None and answer.abstained:
            return still_reading(progress), None
        view = AnswerView(self.bot.engine, answer, scopes, config.quotes_per_message)
        notes = [read_so_far(progress) if progress is not None else None, period_missed(answer)]
        return "\n".join(note for note in notes if note) or None, view

    @app_commands.command(description="Ask a question; I answer with quotes from news articles.")
    @app_commands.describe(
        question="What you want to know",
        private="Show the answer only to you",
        since="Only articles from this day on: a date like 2024-05-01, or an age like 7d, 2w, 12h",
        until="Only articles up to this day: a date like 2024-05-31, or an age like 7d",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: str,
        private: bool = False,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        # Refused before deferring, so privately.
        question = self.bot.engine.check_question(question)
        self.bot.engine.date_range(since, until)
        await interaction.response.defer(ephemeral=private, thinking=True)
        note, view = await self._answer(question, interaction.guild_id, since, until)
        if view is None:
            await send(interaction, content=note, ephemeral=private)
            return
        noted = {"content": note} if note else {}
        view.message = await send(interaction, **noted, embeds=view.embeds, view=view, ephemeral=private)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A DM, or a server message mentioning the bot, is a question; the answer replies to it."""
        me = self.bot.user
        if message.author.bot or me is None:  # other bots, and the bot itself
            return
        if message.guild is not None and me not in message.mentions:
            return
        try:
            self._questions.take_turn(message.author)
            question = self.bot.engine.check_question(_without_mentions_of(me, message.content))
            async with message.channel.typing():
                note, view = await self._answer(question, message.guild.id if message.guild else None)
            if view is None:
                await message.reply(note, mention_author=False, allowed_mentions=NO_MENTIONS)
                return
            view.message = await message.reply(
                note, embeds=view.embeds, view=view, mention_author=False, allowed_mentions=NO_MENTIONS
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
