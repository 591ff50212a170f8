"""Sending to members, and what to tell them when something goes wrong.

Every message the bot sends carries `AllowedMentions.none()`: answers quote third-party
text, and a passage containing `@everyone` or `<@id>` must ping nobody. The bot also sets
it as its default, but each send names it too so no path depends on a merge rule.
"""

from __future__ import annotations

import logging

import aiohttp
import discord
from discord import app_commands

from newsdesk.index import Answer, NewsdeskError

from .reading import Progress

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

SORRY = "Something went wrong on my side; it has been logged. Please try again later."


def _so_far(progress: Progress) -> str:
    if progress.files is None:
        return ""
    return f" ({progress.read} of {progress.files} file{'' if progress.files == 1 else 's'})"


def still_reading(progress: Progress) -> str:
    """Instead of "nothing answers that" while corpus/ is still being read at start-up."""
    return f"I'm still reading my articles{_so_far(progress)}; ask again in a moment."


def read_so_far(progress: Progress) -> str:
    """Above an answer found while corpus/ is still being read at start-up."""
    return f"From the articles I have read so far{_so_far(progress)}; ask again in a moment for all of them."


def period_missed(answer: Answer) -> str | None:
    """Above an answer to a question that named days (say "today") none of whose articles answers it."""
    if not answer.period_missed or answer.period is None:
        return None
    return f"Nothing dated {answer.period.describe()} answers that; here are the newest reports I have."


class MemberError(app_commands.AppCommandError):
    """A refusal whose text is meant for the member (a failed check, a bad argument)."""


async def send(interaction: discord.Interaction, *, ephemeral: bool = False, **fields) -> discord.Message | None:
    """Answer an interaction: as its response, or as a follow-up once it was responded to or deferred.

    Returns:
        The message sent, so a view can remove its buttons when it times out.
    """
    if interaction.response.is_done():
        return await interaction.followup.send(ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, wait=True, **fields)
    callback = await interaction.response.send_message(ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **fields)
    return callback.resource if isinstance(callback.resource, discord.Message) else None


def explain(error: BaseException, where: str) -> str:
    """The sentence to show a member for an error; faults of ours are logged (with `where`) and get an apology."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.CommandNotFound):  # Discord has not caught up with a sync yet
        return "That command has changed; Discord updates its list within a few minutes."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command works only in a server."
    if isinstance(error, (MemberError, NewsdeskError)):
        return str(error)  # written for the member
    log.error("unexpected error in %s", where, exc_info=error)
    return SORRY


async def report(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the member privately what went wrong (the tree's and every view's error handler)."""
    command = interaction.command
    where = f"/{command.qualified_name}" if command else f"component {(interaction.data or {}).get('custom_id')}"
    try:
        await send(interaction, content=explain(error, where), ephemeral=True)
    except (discord.HTTPException, aiohttp.ClientError):
        log.warning("could not tell a member about an error in %s", where, exc_info=True)
