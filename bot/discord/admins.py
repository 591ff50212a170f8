"""Who may change what the bot does in a server: members with Manage Server, or the role named by `admin_role`.

Commands for admins carry `default_permissions(manage_guild=True)`, but that only hides them
in Discord's client (and server admins can change it), so every call is checked again here.
"""

from __future__ import annotations

import discord
from discord import app_commands

from .replies import MemberError


def check_admin(interaction: discord.Interaction, admin_role: str, what: str) -> None:
    """Raise (for the tree's error handler to explain) unless the member is an admin of this server.

    Args:
        what: what admins may do, for the refusal ("change the articles").
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    user = interaction.user
    has_role = isinstance(user, discord.Member) and any(role.name == admin_role for role in user.roles)
    if not (interaction.permissions.manage_guild or has_role):
        raise MemberError(f"Only members with the Manage Server permission or the “{admin_role}” role can {what}.")
