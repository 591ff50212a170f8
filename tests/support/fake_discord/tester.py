"""What a test does as Discord's users: dispatch events, send messages and interactions."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .payloads import (
    APPLICATION_COMMAND,
    ATTACHMENT_SIZE_LIMIT,
    AUTOCOMPLETE,
    AttachmentPayload,
    DEFAULT_PERMISSIONS,
    DISPATCH,
    MESSAGE_COMPONENT,
    MESSAGE_CONTENT_INTENT,
    RECONNECT,
    SentInteraction,
    _GatewaySession,
    _InteractionState,
)


class TesterSide:
    """Events, messages and interactions sent to the bot on behalf of users."""

    # ------------------------------------------------------------------ gateway: test side

    def _live_sessions(self) -> list[_GatewaySession]:
        return [
            session
            for session in self._sessions.values()
            if session.ready and session.connection in self._connections and not session.connection.ws.closed
        ]

    async def wait_ready(self, timeout: float = 10.0, *, shards: Iterable[int] | None = None) -> None:
        """Wait until a bot has identified (or resumed) and been sent READY and its guilds.

        With ``shards``, wait until each of those shard ids has a live session (whichever
        process runs it). That is the fake's view; the bot's ``on_ready`` follows
        ``guild_ready_timeout`` later (``run_bot`` waits for that instead).
        """
        if shards is None:
            await self._wait(lambda: bool(self._live_sessions()), timeout)
            return
        wanted = set(shards)
        await self._wait(lambda: wanted <= {s.shard[0] for s in self._live_sessions() if s.shard}, timeout)

    def hold_hello(self) -> None:
        """Connect sockets without HELLO until :meth:`release_hello`, so bots started apart
        reach IDENTIFY together (discord.py identifies right after HELLO)."""
        self._hello_gate.clear()

    async def release_hello(self, *, once_connected: int, timeout: float = 60.0) -> None:
        """Wait until ``once_connected`` gateway sockets are open, then send each its HELLO."""
        await self._wait(lambda: len(self._connections) >= once_connected, timeout)
        self._hello_gate.set()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH of ``event`` to every connected bot, or under sharding to the shard that
        owns its guild (``data["guild_id"]``, or ``data["id"]`` for ``GUILD_*`` events; shard 0 for
        events of no guild), as Discord does."""
        guild_id = data.get("guild_id") or (data.get("id") if event.startswith("GUILD_") else None)
        await self._broadcast(event, lambda session: data, int(guild_id) if guild_id else None)

    async def _broadcast(
        self, event: str, data_for: Callable[[_GatewaySession], dict[str, Any]], guild_id: int | None
    ) -> None:
        """Send ``event`` to every live session that receives ``guild_id``'s events (None: DMs)."""
        sessions = [session for session in self._live_sessions() if self._session_receives(session, guild_id)]
        if not sessions:
            where = f"guild {guild_id}" if guild_id else "DMs"
            raise RuntimeError(f"cannot dispatch {event}: no bot connected to the fake gateway receives {where}")
        for session in sessions:
            assert session.connection is not None
            await session.connection.send(DISPATCH, data_for(session), event)

    async def reconnect_clients(self, timeout: float = 10.0) -> None:
        """Ask every connected bot to reconnect (op 7) and wait until each has RESUMEd."""
        old = {session: session.connection for session in self._live_sessions()}
        if not old:
            raise RuntimeError("no bot is connected to the fake gateway")
        for session, connection in old.items():
            session.ready = False
            assert connection is not None
            await connection.send(RECONNECT)
        await self._wait(lambda: all(s.ready and s.connection is not c for s, c in old.items()), timeout)

    async def send_message(
        self,
        content: str,
        *,
        channel_id: int | None = None,
        author_id: int | None = None,
        mentions: Iterable[int] = (),
        attachments: Iterable[AttachmentPayload] = (),
    ) -> dict[str, Any]:
        """Dispatch MESSAGE_CREATE from ``author_id`` (default: the tester) and return the message.

        ``channel_id`` may be a guild channel (default: the first one) or a DM channel from
        :meth:`dm_channel`. ``mentions`` are user ids; put the matching ``<@id>`` in
        ``content`` yourself, as Discord clients do. Unless the bot identified with the
        message-content intent, guild messages that do not mention it arrive with empty
        content, embeds and attachments, as on Discord.
        """
        channel_id = channel_id if channel_id is not None else self._default_channel()
        channel = self._channel(channel_id)
        author_id = author_id if author_id is not None else self.tester_id
        message = self._create_message(channel_id, author_id, {"content": content})
        message["attachments"] = [dict(attachment) for attachment in attachments]
        mention_ids = list(mentions)
        in_guild = "guild_id" in channel
        if in_guild:
            # In messages Discord nests members the other way round: user + "member" sans user.
            message["member"] = self._member_without_user(author_id)
            message["mentions"] = [{**self.users[user_id], "member": self._member_without_user(user_id)} for user_id in mention_ids]
        else:
            message["mentions"] = [self.users[user_id] for user_id in mention_ids]

        def visible_to(session: _GatewaySession) -> dict[str, Any]:
            if not in_guild or session.intents & MESSAGE_CONTENT_INTENT or self.bot_id in mention_ids or author_id == self.bot_id:
                return message
            return {**message, "content": "", "embeds": [], "attachments": [], "components": []}

        await self._broadcast("MESSAGE_CREATE", visible_to, int(channel["guild_id"]) if in_guild else None)
        return message

    async def send_interaction(
        self,
        name: str | None = None,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        focused: str | None = None,
        custom_id: str | None = None,
        message_id: int | None = None,
        values: Sequence[str] | None = None,
        component_type: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        permissions: int | str | None = None,
        command_guild_id: int | None = None,
        resolved: dict[str, Any] | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Dispatch INTERACTION_CREATE and return its id, token and response paths.

        The interaction type follows from the arguments:

        - ``custom_id`` given: a component interaction (type 3) on the message
          ``message_id`` (one the bot sent; required). ``component_type`` defaults to 2
          (button), or 3 (string select) when ``values`` are given.
        - ``focused`` given: autocomplete (type 4) of command ``name``; ``focused`` names
          the option being typed (at any depth).
        - otherwise: slash command ``name`` (type 2).

        ``options`` is either Discord's raw option list (pass ``resolved`` along for
        users/channels/roles), or a mapping converted by Python type: ``str`` -> STRING,
        ``int`` -> INTEGER, ``float`` -> NUMBER, ``bool`` -> BOOLEAN, a payload from
        :meth:`add_attachment` -> ATTACHMENT (also put into ``resolved.attachments``), and
        a nested mapping -> SUBCOMMAND, or SUBCOMMAND_GROUP when its own values are
        mappings: ``{"news": {"search": {"query": "x"}}}`` is ``/news search query:x``.

        The interaction happens in ``channel_id`` (default: the component's message's
        channel, else the first guild channel; a DM channel makes it a DM interaction), by
        ``user_id`` (default: the tester) whose member ``permissions`` default to
        :data:`DEFAULT_PERMISSIONS`. ``data.guild_id`` (which discord.py uses to pick
        guild-registered commands) is ``command_guild_id`` if given, else the guild the
        command was synced to, if it was synced to this interaction's guild.
        """
        if channel_id is None:
            channel_id = int(self.messages[message_id]["channel_id"]) if message_id in self.messages else self._default_channel()
        channel = self._channel(channel_id)
        guild_id = int(channel["guild_id"]) if "guild_id" in channel else None
        user_id = user_id if user_id is not None else self.tester_id
        interaction_id = self.new_id()
        token = secrets.token_urlsafe(32)

        if custom_id is not None:
            interaction_type = MESSAGE_COMPONENT
            if message_id not in self.messages:
                raise ValueError(f"component interaction needs the id of a message the bot sent, got {message_id}")
            data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type or (3 if values is not None else 2)}
            if values is not None:
                data["values"] = list(values)
        else:
            if name is None:
                raise ValueError("a command or autocomplete interaction needs the command name")
            interaction_type = AUTOCOMPLETE if focused is not None else APPLICATION_COMMAND
            data = self._command_data(name, options, guild_id, command_guild_id, dict(resolved or {}))
            if focused is not None and not _mark_focused(data["options"], focused):
                raise ValueError(f"no option named {focused!r} to focus")

        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(channel_id),
            "channel": channel,
            "locale": locale,
            "app_permissions": str(DEFAULT_PERMISSIONS.value),
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "entitlements": [],
        }
        if interaction_type == MESSAGE_COMPONENT:
            payload["message"] = self.messages[message_id]
        if guild_id is not None:
            member_permissions = str(permissions if permissions is not None else DEFAULT_PERMISSIONS.value)
            payload.update(
                guild_id=str(guild_id),
                guild_locale="en-US",
                member={**self._member_payload(user_id, guild_id), "permissions": member_permissions},
                context=0,
                authorizing_integration_owners={"0": str(guild_id)},
            )
        else:
            payload.update(user=self.users[user_id], context=1, authorizing_integration_owners={"1": str(user_id)})

        self.interactions[token] = _InteractionState(interaction_id, interaction_type, channel_id, message_id)
        await self.dispatch("INTERACTION_CREATE", payload)
        return SentInteraction(
            interaction_id,
            token,
            payload,
            callback_path=f"/interactions/{interaction_id}/{token}/callback",
            followup_path=f"/webhooks/{self.application_id}/{token}",
        )

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None,
        guild_id: int | None,
        command_guild_id: int | None,
        resolved: dict[str, Any],
    ) -> dict[str, Any]:
        if options is None:
            option_list: list[dict[str, Any]] = []
        elif isinstance(options, Mapping):
            option_list = _convert_options(options, resolved)
        else:
            option_list = [dict(option) for option in options]
        guild_command = self._synced_command(guild_id, name) if guild_id is not None else None
        if command_guild_id is None and guild_command is not None:
            command_guild_id = guild_id
        synced = guild_command or self._synced_command(None, name)
        data: dict[str, Any] = {
            "id": synced["id"] if synced else str(self.new_id()),
            "name": name,
            "type": 1,
            "options": option_list,
        }
        if resolved:
            data["resolved"] = resolved
        if command_guild_id is not None:
            data["guild_id"] = str(command_guild_id)
        return data

    def _synced_command(self, scope: int | None, name: str) -> dict[str, Any] | None:
        """The slash command ``name`` as last synced to ``scope`` (None = global), if any."""
        return next((c for c in self.commands.get(scope, []) if c["name"] == name and c["type"] == 1), None)



def _option_type(value: Any) -> int:
    """Discord's option type for a Python value (bool first: it is an int subclass)."""
    for python_type, option_type in ((bool, 5), (int, 4), (float, 10), (str, 3)):
        if isinstance(value, python_type):
            return option_type
    raise TypeError(f"cannot infer an option type for {value!r}; pass Discord's raw option list instead")


def _convert_options(values: Mapping[str, Any], resolved: dict[str, Any]) -> list[dict[str, Any]]:
    """Mapping form of options -> Discord's option list (see FakeDiscord.send_interaction)."""
    options = []
    for name, value in values.items():
        if isinstance(value, AttachmentPayload):
            resolved.setdefault("attachments", {})[value["id"]] = dict(value)
            options.append({"name": name, "type": 11, "value": value["id"]})
        elif isinstance(value, Mapping):
            is_group = any(isinstance(v, Mapping) and not isinstance(v, AttachmentPayload) for v in value.values())
            options.append({"name": name, "type": 2 if is_group else 1, "options": _convert_options(value, resolved)})
        else:
            options.append({"name": name, "type": _option_type(value), "value": value})
    return options


def _mark_focused(options: list[dict[str, Any]], name: str) -> bool:
    """Set ``focused`` on the (possibly nested) value option called ``name``."""
    for option in options:
        if option["type"] in (1, 2):
            if _mark_focused(option.get("options", []), name):
                return True
        elif option["name"] == name:
            option["focused"] = True
            return True
    return False
