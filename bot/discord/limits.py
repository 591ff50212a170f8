"""Per-member budgets for commands that search: each costs a query of the store and the model."""

from __future__ import annotations

import math

import discord
from discord.ext import commands

from .replies import MemberError


class MemberLimit:
    """Each member may make `rate` uses per `per_seconds`, across every command that takes a turn here.

    Args:
        doing: what a member does, for the refusal ("asking").
        uses: what a member makes, for the refusal ("question").
    """

    def __init__(self, rate: int, per_seconds: float, doing: str, uses: str) -> None:
        self._buckets = commands.CooldownMapping(commands.Cooldown(rate, per_seconds), lambda user: user.id)
        limit = f"{uses} limit: {rate} per {per_seconds:g} s"
        self._refusal = f"You're {doing} quickly: try again in {{seconds}} s ({limit})."

    def take_turn(self, user: discord.abc.User) -> None:
        """Count one use against the member's budget; when it is spent, raise MemberError saying when to retry."""
        retry_after = self._buckets.get_bucket(user).update_rate_limit()
        if retry_after:
            raise MemberError(self._refusal.format(seconds=math.ceil(retry_after)))
