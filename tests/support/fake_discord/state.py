"""The fake's world: users, guilds, roles, channels and attachments, and their payloads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from .payloads import AttachmentPayload, DEFAULT_PERMISSIONS, FakeGuild, _now, _role_payload


class WorldState:
    """Users, guilds, roles, channels and attachments, set up by tests and served as payloads."""

    # ------------------------------------------------------------------ state setup

    def new_id(self) -> int:
        """A fresh snowflake (time-based, so ``created_at`` looks sane)."""
        return next(self._ids)

    def add_user(self, username: str, *, bot: bool = False) -> int:
        """Create a user and return its id."""
        user_id = self.new_id()
        self.users[user_id] = {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": username,
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
        }
        return user_id

    def add_guild(
        self,
        guild_id: int | None = None,
        name: str = "Test Guild",
        channels: Sequence[str] = ("general",),
        members: Iterable[int] = (),
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """Create a guild with text channels named ``channels`` (positions in order).

        The bot and the tester are always members; ``members`` adds users from
        :meth:`add_user`. Add guilds before the bot connects: IDENTIFY sends a GUILD_CREATE
        for each. To add one to a running bot, dispatch
        ``("GUILD_CREATE", fake.guild_payload(guild.id))`` yourself.

        ``shard=(shard_id, shard_count)`` picks an id whose events go to that shard (the
        fake's ids are consecutive, so without it every guild lands on the same shard).
        """
        guild_id = guild_id or (self._id_on_shard(*shard) if shard else self.new_id())
        channel_ids: dict[str, int] = {}
        for position, channel_name in enumerate(channels):
            channel_id = self.new_id()
            self.channels[channel_id] = {
                "id": str(channel_id),
                "type": 0,
                "guild_id": str(guild_id),
                "name": channel_name,
                "position": position,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
            channel_ids[channel_name] = channel_id
        member_ids = list(dict.fromkeys([self.bot_id, self.tester_id, *members]))
        unknown = [user_id for user_id in member_ids if user_id not in self.users]
        if unknown:
            raise ValueError(f"unknown user ids {unknown}: create them with add_user()")
        guild = FakeGuild(guild_id, name, channel_ids, member_ids)
        self.guilds[guild_id] = guild
        return guild

    def _id_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh snowflake whose timestamp part puts it on ``shard_id`` of ``shard_count``."""
        snowflake = self.new_id()
        timestamp = snowflake >> 22
        timestamp += (shard_id - timestamp) % shard_count  # a few ms later: unused by new_id() for 4M ids
        return timestamp << 22 | snowflake & (1 << 22) - 1

    def add_role(self, guild_id: int, name: str, members: Iterable[int] = ()) -> int:
        """Create a role (no permissions of its own) in a guild and give it to ``members``.

        Add roles before the bot connects, so GUILD_CREATE carries them.
        """
        role_id = self.new_id()
        self.guilds[guild_id].roles[name] = role_id
        for user_id in members:
            self._member_roles.setdefault((guild_id, user_id), []).append(role_id)
        return role_id

    def role_payload(self, guild_id: int, role_id: int) -> dict[str, Any]:
        """The payload of a role from :meth:`add_role`, as a ROLE option's ``resolved.roles`` carries it."""
        names = {role_id: name for name, role_id in self.guilds[guild_id].roles.items()}
        position = list(names).index(role_id) + 1
        return _role_payload(role_id, names[role_id], 0, position)

    def dm_channel(self, user_id: int) -> int:
        """The id of the DM channel between the bot and ``user_id`` (created on first use)."""
        if user_id not in self._dm_channel_by_user:
            channel_id = self.new_id()
            self.channels[channel_id] = {
                "id": str(channel_id),
                "type": 1,
                "recipients": [self.users[user_id]],
                "last_message_id": None,
                "flags": 0,
            }
            self._dm_channel_by_user[user_id] = channel_id
        return self._dm_channel_by_user[user_id]

    def add_attachment(self, filename: str, data: bytes, content_type: str = "application/octet-stream") -> AttachmentPayload:
        """Serve ``data`` at ``/attachments/{id}/{filename}`` and return its attachment payload.

        Pass the result as an option value to :meth:`send_interaction` (it goes into
        ``data.resolved.attachments``) or in ``attachments`` to :meth:`send_message`;
        ``Attachment.read()`` in the bot downloads it from here.
        """
        attachment_id = self.new_id()
        self._attachments[attachment_id] = (filename, data, content_type)
        url = f"{self.base_url}/attachments/{attachment_id}/{quote(filename)}"
        return AttachmentPayload(
            id=str(attachment_id),
            filename=filename,
            size=len(data),
            url=url,
            proxy_url=url,
            content_type=content_type,
        )

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        """The full guild object sent in GUILD_CREATE."""
        guild = self.guilds[guild_id]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": len(guild.member_ids),
            "joined_at": _now(),
            "features": [],
            "preferred_locale": "en-US",
            # @everyone's role id is the guild id; discord.py derives default permissions from it.
            "roles": [
                _role_payload(guild.id, "@everyone", DEFAULT_PERMISSIONS.value, 0),
                *(
                    _role_payload(role_id, role_name, 0, position)
                    for position, (role_name, role_id) in enumerate(guild.roles.items(), start=1)
                ),
            ],
            "channels": [self.channels[channel_id] for channel_id in guild.channels.values()],
            "members": [self._member_payload(user_id, guild.id) for user_id in guild.member_ids],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "emojis": [],
            "stickers": [],
        }

    def _member_payload(self, user_id: int, guild_id: int | None = None) -> dict[str, Any]:
        return {
            "user": self.users[user_id],
            "roles": [str(role_id) for role_id in self._member_roles.get((guild_id, user_id), [])],
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
            "premium_since": None,
        }

    def _member_without_user(self, user_id: int) -> dict[str, Any]:
        return {key: value for key, value in self._member_payload(user_id).items() if key != "user"}

    def _default_channel(self) -> int:
        """The first channel of the first guild: where the fake acts unless told otherwise."""
        for guild in self.guilds.values():
            for channel_id in guild.channels.values():
                return channel_id
        raise ValueError("no guild channel to default to: call add_guild() or pass channel_id")

    def _channel(self, channel_id: int) -> dict[str, Any]:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ValueError(f"unknown channel {channel_id}") from None

