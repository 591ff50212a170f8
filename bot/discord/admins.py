"""Who may change what the bot does in a server: members with Manage Server, or its admin role.

A server's admin role is chosen by id (`/corpus admin-role`, Manage Server only) and kept in
the store, never matched by name: anyone with Manage Roles can create a role of any name.

Commands for admins carry `default_permissions(manage_guild=True)`, but that only hides them
in Discord's client (and server admins can change it), so every call is checked again here,
and so is every autocomplete of an admin command (`admin_choices`): its choices would show a
server's feeds, follows and uploads to anyone.
"""

from __future__ import annotations

import discord
from discord import app_commands

from newsdesk.index import Engine

from .replies import MemberError

# The command that chooses the role, named in refusals so a server knows it can.
CHOOSE_ROLE = "/corpus admin-role"


def _role_key(guild_id: int) -> str:
    return f"discord.admin_role.{guild_id}"


async def admin_role(engine: Engine, guild_id: int) -> int | None:
    """The id of the role whose members are admins of a server besides Manage Server, if it chose one."""
    stored = await engine.app_data.get(_role_key(guild_id))
    return int(stored) if stored else None


async def set_admin_role(engine: Engine, guild_id: int, role_id: int | None) -> None:
    """Choose a server's admin role (None: none, only Manage Server)."""
    await engine.app_data.set(_role_key(guild_id), str(role_id) if role_id is not None else "")


async def _admin_or_role(interaction: discord.Interaction) -> tuple[bool, int | None]:
    """Whether the member is an admin of the interaction's server, and the server's admin role."""
    role_id = await admin_role(interaction.client.engine, interaction.guild_id)
    if interaction.permissions.manage_guild:
        return True, role_id
    user = interaction.user
    has_role = role_id is not None and isinstance(user, discord.Member) and user.get_role(role_id) is not None
    return has_role, role_id


async def check_admin(interaction: discord.Interaction, what: str) -> None:
    """Raise (for the tree's error handler to explain) unless the member is an admin of this server.

    Args:
        what: what admins may do, for the refusal ("change the articles").
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    allowed, role_id = await _admin_or_role(interaction)
    if allowed:
        return
    if role_id is None:
        raise MemberError(
            f"Only members with the Manage Server permission can {what} "
            f"(they can let a role do it too, with {CHOOSE_ROLE})."
        )
    # A role mention shows the role's current name and, sent without mentions, pings nobody.
    raise MemberError(f"Only members with the Manage Server permission or the <@&{role_id}> role can {what}.")


async def _may_see_choices(interaction: discord.Interaction) -> bool:
    return interaction.guild_id is not None and (await _admin_or_role(interaction))[0]


#: Put on an admin command's autocomplete callback (under `@command.autocomplete(...)`): a member
#: who is not an admin gets no choices, so the server's feeds, follows or articles stay unlisted.
admin_choices = app_commands.check(_may_see_choices)
