"""A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.py client in tests.

Why this exists: no machine that runs these tests can reach Discord, and replacing
discord.py internals (as dpytest does) would skip exactly the code paths the bot uses in
production. Instead, one aiohttp app serves the HTTP API under ``/api/v10`` and the
gateway over a WebSocket at ``/``; the unmodified client is pointed at it through two
class attributes (see :meth:`FakeDiscord.install`). The fake keeps just enough state
(users, guilds, channels, messages, interactions, synced commands) to hand discord.py the
payloads it insists on, and records every REST call so tests can assert on what the bot
sent.

The payload facts this is built on are in /work/shared/notes/discord-loopback.md; it is
built against discord.py 2.7.1 (pinned in pyproject), whose payload requirements change
between minor releases.

Typical use (see tests/conftest_discord.py for the fixtures)::

    guild = fake.add_guild(name="News")
    async with run_bot(bot):
        sent = await fake.send_interaction("ping")
        followup = await fake.wait_for_request(method="POST", path=sent.followup_path)
        assert followup.json["content"] == "pong"

Not emulated: permission enforcement (every request from the bot succeeds), mention
parsing in messages the bot sends, echoing the bot's own messages back as MESSAGE_CREATE,
and replaying missed events on RESUME. The one intent that *is* emulated is the
privileged message-content intent, because a bot that silently depends on it works in
tests and then sees empty messages in production.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json
import logging
import mimetypes
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import discord
import yarl
from aiohttp import web

if TYPE_CHECKING:
    import pytest

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
#: discord.py parses a body as JSON only when Content-Type is exactly this string; aiohttp's
#: ``web.json_response`` appends ``; charset=utf-8`` and discord.py then crashes on login.
JSON_CONTENT_TYPE = "application/json"

#: What @everyone may do in fake guilds, and the default ``permissions`` of an interacting
#: member: a plain member of a text channel (no administrator, no manage_*).
DEFAULT_PERMISSIONS = discord.Permissions.text() | discord.Permissions(view_channel=True)

ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
MESSAGE_CONTENT_INTENT = 1 << 15

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# Interaction types and the callback types that create or touch a message.
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4
CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE, CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE = 4, 5, 6, 7
LOADING_FLAG, EPHEMERAL_FLAG = 128, 64

# The request being handled, so endpoint handlers can read the body the middleware parsed
# (a ContextVar rather than request storage, whose typed keys need a recent aiohttp).
_current_record: ContextVar[RecordedRequest] = ContextVar("fake_discord_record")


def _json(data: Any, status: int = 200) -> web.Response:
    """A JSON response with Content-Type exactly ``application/json`` (see JSON_CONTENT_TYPE)."""
    return web.Response(status=status, body=json.dumps(data).encode(), headers={"Content-Type": JSON_CONTENT_TYPE})


def _error(status: int, message: str, code: int = 0) -> web.Response:
    """An error in Discord's shape, which discord.py turns into HTTPException/NotFound/..."""
    return _json({"message": message, "code": code}, status)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class AttachmentPayload(dict):
    """An attachment payload (``id, filename, size, url, proxy_url, content_type``).

    A plain dict to everything that reads it; its own type only lets
    :meth:`FakeDiscord.send_interaction` tell an attachment option value apart from a
    subcommand's option mapping.
    """


@dataclass
class RecordedRequest:
    """One HTTP request the fake received, in arrival order in :attr:`FakeDiscord.requests`.

    ``path`` is relative to the API base (``/channels/1/messages``); requests outside the
    API (attachment downloads) keep their full path. ``json`` is the parsed body, for
    multipart uploads the ``payload_json`` part; ``files`` the uploaded ``(filename, bytes)``.
    ``status`` and ``response`` (the JSON object sent back, if any) are filled in once the
    request has been answered; ``routed`` is False when no fake endpoint exists for it.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int | None = None
    response: Any = None
    routed: bool = True


@dataclass
class FakeGuild:
    """Ids of a guild created with :meth:`FakeDiscord.add_guild`; ``channels`` maps name -> id."""

    id: int
    name: str
    channels: dict[str, int]
    member_ids: list[int]
    roles: dict[str, int] = field(default_factory=dict)


def _role_payload(role_id: int, name: str, permissions: int, position: int) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


@dataclass
class SentInteraction:
    """An INTERACTION_CREATE the fake dispatched, with the REST paths its answers arrive on."""

    id: int
    token: str
    payload: dict[str, Any]
    callback_path: str
    followup_path: str


@dataclass
class _InteractionState:
    """What the fake remembers to validate and answer callbacks, follow-ups and edits."""

    id: int
    type: int
    channel_id: int
    message_id: int | None  # the message a component interaction came from
    acknowledged: bool = False
    original_message_id: int | None = None


@dataclass
class _FailureRule:
    """A pending injected failure installed by :meth:`FakeDiscord.fail_next`."""

    method: str
    path: re.Pattern[str]
    status: int
    retry_after: float
    times: int

    def response(self) -> web.Response:
        if self.status != 429:
            return _error(self.status, f"injected failure ({self.status})")
        response = _json({"message": "You are being rate limited.", "retry_after": self.retry_after, "global": False}, 429)
        response.headers.update(
            {
                "Retry-After": str(max(1, round(self.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + self.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                "X-RateLimit-Bucket": "fake-bucket",
                "X-RateLimit-Scope": "user",
                # discord.py treats a 429 without Via as a Cloudflare ban and raises instead of retrying.
                "Via": "1.1 google",
            }
        )
        return response


class _GatewaySession:
    """A gateway session: outlives its socket so a RESUME can pick it up on a new one."""

    def __init__(self, session_id: str, intents: int, shard: list[int] | None) -> None:
        self.session_id = session_id
        self.intents = intents
        self.shard = shard
        self.seq = 0
        self.connection: _Connection | None = None
        self.ready = False  # READY/RESUMED and the initial GUILD_CREATEs have been sent


class _Connection:
    """One gateway WebSocket; serialises sends so sequence numbers go out in order."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: _GatewaySession | None = None
        self._lock = asyncio.Lock()

    async def send(self, op: int, d: Any = None, t: str | None = None) -> None:
        async with self._lock:
            seq = None
            if op == DISPATCH:
                assert self.session is not None, "dispatch before IDENTIFY"
                self.session.seq += 1
                seq = self.session.seq
            # Plain text frames: discord.py asks for zlib-stream but only inflates bytes frames.
            await self.ws.send_str(json.dumps({"op": op, "d": d, "s": seq, "t": t}))


class FakeDiscord:
    """A loopback Discord: REST under ``/api/v10`` and the gateway at ``/``, on an ephemeral port.

    Ids are ints in this API and strings in payloads, as on Discord. The application id
    deliberately differs from the bot user's id so code that confuses them fails here.
    """

    def __init__(self, *, bot_name: str = "newsdesk-test", heartbeat_interval_ms: int = 41_250) -> None:
        self._ids = itertools.count(discord.utils.time_snowflake(datetime.datetime.now(datetime.timezone.utc)))
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.users: dict[int, dict[str, Any]] = {}
        self.bot_name = bot_name
        self.bot_id = self.add_user(bot_name, bot=True)
        self.application_id = self.new_id()
        #: Owns the application and every guild, and is in no guild, so nobody who interacts
        #: gets the owner's implicit all-permissions.
        self.owner_id = self.add_user("app-owner")
        #: The default author of interactions and messages the fake sends.
        self.tester_id = self.add_user("tester")
        self.guilds: dict[int, FakeGuild] = {}
        self._member_roles: dict[tuple[int, int], list[int]] = {}
        #: Channel payloads by id: guild text channels and DM channels.
        self.channels: dict[int, dict[str, Any]] = {}
        self._dm_channel_by_user: dict[int, int] = {}
        #: Every message that exists on the fake: sent by the bot or by the fake.
        self.messages: dict[int, dict[str, Any]] = {}
        #: Synced command objects by scope: None for global, else the guild id.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, _InteractionState] = {}  # by token
        self.requests: list[RecordedRequest] = []
        #: Every frame bots sent on the gateway (IDENTIFY, heartbeats, RESUME, ...), in order.
        self.gateway_received: list[dict[str, Any]] = []
        self._attachments: dict[int, tuple[str, bytes, str]] = {}
        self._failures: list[_FailureRule] = []
        self._sessions: dict[str, _GatewaySession] = {}
        self._connections: set[_Connection] = set()
        # Notified whenever a request is answered or a gateway session changes state.
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeDiscord is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        """Serve on an ephemeral port of 127.0.0.1."""
        app = web.Application(middlewares=[self._middleware])
        route = app.router
        api = API_PREFIX
        route.add_get("/", self._gateway)
        route.add_get("/attachments/{attachment_id}/{filename}", self._get_attachment)
        route.add_get(f"{api}/gateway", self._get_gateway)
        route.add_get(f"{api}/gateway/bot", self._get_gateway_bot)
        route.add_get(f"{api}/users/@me", self._get_me)
        route.add_post(f"{api}/users/@me/channels", self._create_dm)
        route.add_get(f"{api}/oauth2/applications/@me", self._get_application)
        for commands_path in (
            f"{api}/applications/{{app_id}}/commands",
            f"{api}/applications/{{app_id}}/guilds/{{guild_id}}/commands",
        ):
            route.add_put(commands_path, self._put_commands)
            route.add_get(commands_path, self._get_commands)
        route.add_post(f"{api}/interactions/{{interaction_id}}/{{token}}/callback", self._interaction_callback)
        route.add_post(f"{api}/webhooks/{{app_id}}/{{token}}", self._post_followup)
        for method in ("GET", "PATCH", "DELETE"):
            route.add_route(method, f"{api}/webhooks/{{app_id}}/{{token}}/messages/{{message_id}}", self._webhook_message)
            route.add_route(method, f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._channel_message)
        route.add_get(f"{api}/channels/{{channel_id}}", self._get_channel)
        route.add_post(f"{api}/channels/{{channel_id}}/messages", self._post_channel_message)
        route.add_post(f"{api}/channels/{{channel_id}}/typing", self._typing)

        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every gateway socket, then the server. Close bots first: a bot still
        connected sees its gateway drop."""
        for connection in list(self._connections):
            await connection.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point discord.py at this fake (call after :meth:`start`, before the bot logs in).

        Both hooks are class attributes read at call time; monkeypatch restores them.
        ``Asset.BASE`` makes avatar/icon URLs point here too, so a bot that fetches one
        hits an unrouted path that the ``fake_discord`` fixture reports.
        """
        monkeypatch.setattr(discord.http.Route, "BASE", self.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url))
        monkeypatch.setattr(discord.Asset, "BASE", self.base_url)

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
    ) -> FakeGuild:
        """Create a guild with text channels named ``channels`` (positions in order).

        The bot and the tester are always members; ``members`` adds users from
        :meth:`add_user`. Add guilds before the bot connects: IDENTIFY sends a GUILD_CREATE
        for each. To add one to a running bot, dispatch
        ``("GUILD_CREATE", fake.guild_payload(guild.id))`` yourself.
        """
        guild_id = guild_id or self.new_id()
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

    def add_role(self, guild_id: int, name: str, members: Iterable[int] = ()) -> int:
        """Create a role (no permissions of its own) in a guild and give it to ``members``.

        Add roles before the bot connects, so GUILD_CREATE carries them.
        """
        role_id = self.new_id()
        self.guilds[guild_id].roles[name] = role_id
        for user_id in members:
            self._member_roles.setdefault((guild_id, user_id), []).append(role_id)
        return role_id

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

    # ------------------------------------------------------------------ failure injection

    def fail_next(self, method: str, path_regex: str, status: int = 429, retry_after: float = 0.3, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with ``status``.

        ``path_regex`` must match the whole API-relative path (``re.fullmatch``), e.g.
        ``r"/webhooks/\\d+/.+"``. A 429 carries the body (``retry_after``, ``global: false``)
        and headers (``Retry-After``, ``X-RateLimit-*``, ``Via``) discord.py needs to wait
        and retry; other statuses get a Discord-style error body. Note that discord.py
        retries 5xx itself after sleeping 1 s, 3 s, ...
        """
        self._failures.append(_FailureRule(method.upper(), re.compile(path_regex), status, retry_after, times))

    def _injected_failure(self, record: RecordedRequest) -> web.Response | None:
        for rule in self._failures:
            if rule.method == record.method and rule.path.fullmatch(record.path):
                rule.times -= 1
                if rule.times <= 0:
                    self._failures.remove(rule)
                return rule.response()
        return None

    # ------------------------------------------------------------------ inspecting requests

    def find_requests(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> list[RecordedRequest]:
        """Answered requests matching all given criteria (``path`` as a regex, whole-path match)."""
        pattern = re.compile(path) if path is not None else None
        return [
            request
            for request in self.requests
            if request.status is not None
            and (method is None or request.method == method.upper())
            and (pattern is None or pattern.fullmatch(request.path))
            and (predicate is None or predicate(request))
        ]

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        timeout: float = 10.0,
    ) -> RecordedRequest:
        """The earliest answered request matching the criteria of :meth:`find_requests`.

        Requests already recorded count, so there is no race with a bot that answers
        before the test starts waiting. Raises AssertionError listing what was recorded
        if nothing matches within ``timeout``.
        """

        def first_match() -> RecordedRequest | None:
            matches = self.find_requests(predicate, method=method, path=path)
            return matches[0] if matches else None

        try:
            return await self._wait(first_match, timeout)
        except asyncio.TimeoutError:
            seen = "\n".join(f"  {r.method} {r.path} -> {r.status}" for r in self.requests) or "  (none)"
            wanted = f"{method or '*'} {path or '*'}"
            raise AssertionError(f"no request matched {wanted} within {timeout}s; recorded:\n{seen}") from None

    def interaction_responses(self, token: str) -> list[RecordedRequest]:
        """The callback, follow-ups and edits the bot sent for the interaction with ``token``."""
        return [request for request in self.requests if token in request.path.split("/")]

    @property
    def unrouted_requests(self) -> list[RecordedRequest]:
        """Requests no fake endpoint handles: the fake needs extending, or the bot went astray."""
        return [request for request in self.requests if not request.routed]

    async def _wait(self, condition: Callable[[], Any], timeout: float) -> Any:
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ gateway: test side

    def _live_sessions(self) -> list[_GatewaySession]:
        return [
            session
            for session in self._sessions.values()
            if session.ready and session.connection in self._connections and not session.connection.ws.closed
        ]

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until a bot has identified (or resumed) and been sent READY and its guilds.

        That is the fake's view; the bot's ``on_ready`` follows ``guild_ready_timeout``
        later (``run_bot`` waits for that instead).
        """
        await self._wait(lambda: bool(self._live_sessions()), timeout)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH of ``event`` to every connected bot."""
        await self._broadcast(event, lambda session: data)

    async def _broadcast(self, event: str, data_for: Callable[[_GatewaySession], dict[str, Any]]) -> None:
        sessions = self._live_sessions()
        if not sessions:
            raise RuntimeError(f"cannot dispatch {event}: no bot is connected to the fake gateway")
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

        await self._broadcast("MESSAGE_CREATE", visible_to)
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

    # ------------------------------------------------------------------ gateway: socket side

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = _Connection(ws)
        self._connections.add(connection)
        try:
            await connection.send(HELLO, {"heartbeat_interval": self.heartbeat_interval_ms})
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self._on_gateway_frame(connection, json.loads(message.data))
                else:
                    log.warning("fake Discord: unexpected %s frame on the gateway", message.type)
        finally:
            self._connections.discard(connection)
            await self._notify()
        return ws

    async def _on_gateway_frame(self, connection: _Connection, frame: dict[str, Any]) -> None:
        self.gateway_received.append(frame)
        op, d = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            await connection.send(HEARTBEAT_ACK)
        elif op == IDENTIFY:
            await self._identify(connection, d)
        elif op == RESUME:
            await self._resume(connection, d)
        elif op == REQUEST_GUILD_MEMBERS:
            await self._send_member_chunk(connection, d)
        elif op not in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):  # recorded; nothing to answer
            log.warning("fake Discord: unhandled gateway op %s: %s", op, frame)

    async def _identify(self, connection: _Connection, d: dict[str, Any]) -> None:
        session = _GatewaySession(uuid.uuid4().hex, d.get("intents", 0), d.get("shard"))
        session.connection = connection
        connection.session = session
        self._sessions[session.session_id] = session
        guild_ids = [gid for gid in self.guilds if session.shard is None or (gid >> 22) % session.shard[1] == session.shard[0]]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**self.users[self.bot_id], "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
            "session_id": session.session_id,
            # discord.py reconnects (RESUME) to this URL, so it must point back here.
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard  # AutoShardedClient reads READY.shard[0]
        await connection.send(DISPATCH, ready, "READY")
        for guild_id in guild_ids:
            await connection.send(DISPATCH, self.guild_payload(guild_id), "GUILD_CREATE")
        session.ready = True
        await self._notify()

    async def _resume(self, connection: _Connection, d: dict[str, Any]) -> None:
        session = self._sessions.get(d.get("session_id"))
        if session is None:
            await connection.send(INVALID_SESSION, False)
            return
        session.connection = connection
        connection.session = session
        await connection.send(DISPATCH, {}, "RESUMED")
        session.ready = True
        await self._notify()

    async def _send_member_chunk(self, connection: _Connection, d: dict[str, Any]) -> None:
        """Answer op 8 in one chunk, so bots with the members intent can chunk guilds."""
        guild = self.guilds[int(d["guild_id"])]
        wanted = {int(user_id) for user_id in d.get("user_ids") or []}
        query = (d.get("query") or "").lower()
        members = [
            self._member_payload(user_id, guild.id)
            for user_id in guild.member_ids
            if (not wanted or user_id in wanted) and self.users[user_id]["username"].lower().startswith(query)
        ]
        if d.get("limit"):
            members = members[: d["limit"]]
        chunk = {"guild_id": str(guild.id), "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": []}
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        await connection.send(DISPATCH, chunk, "GUILD_MEMBERS_CHUNK")

    # ------------------------------------------------------------------ REST plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        """Record every REST call, apply injected failures, and turn unknown routes into
        a logged 404 the test can see (instead of aiohttp's text/plain one)."""
        if request.path == "/":  # the gateway WebSocket is not a REST call
            return await handler(request)
        path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX + "/") else request.path
        record = RecordedRequest(request.method, path, dict(request.query))
        self.requests.append(record)
        _current_record.set(record)
        try:
            await self._read_body(request, record)
            response = self._injected_failure(record)
            if response is None and request.match_info.http_exception is not None:
                record.routed = False
                log.warning("fake Discord has no route for %s %s; answering 404", request.method, request.path)
                response = _error(404, f"fake Discord has no route for {request.method} {request.path}")
            if response is None:
                response = await handler(request)
        except Exception:
            # A 400 rather than aiohttp's 500: discord.py retries 5xx with multi-second sleeps.
            log.exception("fake Discord crashed handling %s %s", request.method, request.path)
            response = _error(400, f"fake Discord crashed handling {request.method} {request.path}; see the log")
        record.status = response.status
        if response.content_type == JSON_CONTENT_TYPE and isinstance(response, web.Response) and response.body:
            record.response = json.loads(response.body)
        await self._notify()
        return response

    @staticmethod
    async def _read_body(request: web.Request, record: RecordedRequest) -> None:
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                if part.name == "payload_json":
                    record.json = json.loads(await part.text())
                else:
                    record.files.append((part.filename or part.name or "", bytes(await part.read())))
        elif request.can_read_body:
            text = await request.text()
            record.json = json.loads(text) if text else None

    def _create_message(
        self,
        channel_id: int,
        author_id: int,
        body: dict[str, Any],
        files: Sequence[tuple[str, bytes]] = (),
        *,
        webhook: bool = False,
    ) -> dict[str, Any]:
        """Store and return a full message object built from a message-create body."""
        channel = self.channels[channel_id]
        message_id = self.new_id()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "author": self.users[author_id],
            "content": body.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [self._upload(filename, data) for filename, data in files],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "flags": body.get("flags") or 0,
        }
        if "guild_id" in channel:
            message["guild_id"] = channel["guild_id"]
        reference = body.get("message_reference")
        if reference:
            message["type"] = 19  # REPLY
            # discord.py sends ids as ints here; Discord answers with strings.
            ids = {key: str(value) for key, value in reference.items() if key.endswith("_id")}
            message["message_reference"] = {"type": 0, "channel_id": str(channel_id), **reference, **ids}
            referenced = self.messages.get(int(reference["message_id"]))
            if referenced is not None:
                message["referenced_message"] = {k: v for k, v in referenced.items() if k != "referenced_message"}
        if webhook:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
        self.messages[message_id] = message
        return message

    def _edit_message(self, message: dict[str, Any], body: dict[str, Any], files: Sequence[tuple[str, bytes]]) -> dict[str, Any]:
        """Apply an edit body: listed fields replace, ``attachments`` lists the ones to keep."""
        empty: dict[str, Any] = {"content": "", "embeds": [], "components": [], "flags": 0}
        for key, default in empty.items():
            if key in body:
                message[key] = body[key] if body[key] is not None else default
        if "attachments" in body:
            keep = {str(attachment.get("id")) for attachment in body["attachments"] or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
        message["attachments"] += [self._upload(filename, data) for filename, data in files]
        message["edited_timestamp"] = _now()
        return message

    def _upload(self, filename: str, data: bytes) -> dict[str, Any]:
        """Host a file the bot uploaded, so the resulting message's attachment URL works."""
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return dict(self.add_attachment(filename, data, content_type))

    @staticmethod
    def _is_empty(body: dict[str, Any], files: Sequence[tuple[str, bytes]]) -> bool:
        return not (files or any(body.get(key) for key in ("content", "embeds", "components", "sticker_ids", "poll")))

    # ------------------------------------------------------------------ REST endpoints

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json({**self.users[self.bot_id], "verified": True, "mfa_enabled": False, "locale": "en-US", "flags": 0})

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot_name,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.users[self.owner_id],
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                # Non-null would make discord.py warn that gateway interactions are not delivered.
                "interactions_endpoint_url": None,
                "bot": self.users[self.bot_id],
            }
        )

    def _command_scope(self, request: web.Request) -> int | None | web.Response:
        """The scope (None = global, else guild id) of a commands route, or an error response."""
        if request.match_info["app_id"] != str(self.application_id):
            return _error(403, "application id does not match the bot's application", 50001)
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if int(guild_id) not in self.guilds:
            return _error(404, "Unknown Guild", 10004)
        return int(guild_id)

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: store the schema; a command keeps its id across syncs, as on Discord."""
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        existing = {(c.get("type", 1), c["name"]): c["id"] for c in self.commands.get(scope, [])}
        stored = []
        for schema in _current_record.get().json:
            command = {"type": 1, **schema}
            command.update(
                id=existing.get((command["type"], command["name"])) or str(self.new_id()),
                application_id=str(self.application_id),
                version=str(self.new_id()),
            )
            if scope is not None:
                command["guild_id"] = str(scope)
            stored.append(command)
        self.commands[scope] = stored
        return _json(stored)

    async def _get_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        return _json(self.commands.get(scope, []))

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        """Answer as with ``?with_response=1``: discord.py reads ``interaction`` (and, for
        message responses, ``resource.message``) from this body."""
        record = _current_record.get()
        state = self.interactions.get(request.match_info["token"])
        if state is None or str(state.id) != request.match_info["interaction_id"]:
            return _error(404, "Unknown interaction", 10062)
        if state.acknowledged:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        state.acknowledged = True
        callback_type = record.json["type"]
        data = record.json.get("data") or {}
        message = None
        if callback_type == CALLBACK_MESSAGE:
            message = self._create_message(state.channel_id, self.bot_id, data, record.files, webhook=True)
        elif callback_type == CALLBACK_DEFERRED_MESSAGE:
            flags = LOADING_FLAG | (data.get("flags", 0) & EPHEMERAL_FLAG)
            message = self._create_message(state.channel_id, self.bot_id, {"flags": flags}, webhook=True)
        elif callback_type == CALLBACK_UPDATE and state.message_id is not None:
            message = self._edit_message(self.messages[state.message_id], data, record.files)
        if message is not None:
            state.original_message_id = int(message["id"])
        elif callback_type == CALLBACK_DEFERRED_UPDATE:
            state.original_message_id = state.message_id
        interaction: dict[str, Any] = {"id": str(state.id), "type": state.type}
        body: dict[str, Any] = {"interaction": interaction}
        if message is not None:
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=bool(message["flags"] & LOADING_FLAG),
                response_message_ephemeral=bool(message["flags"] & EPHEMERAL_FLAG),
            )
            body["resource"] = {"type": callback_type, "message": message}
        return _json(body)

    def _webhook_interaction(self, request: web.Request) -> _InteractionState | None:
        """The interaction behind an interaction webhook; it exists only once acknowledged."""
        state = self.interactions.get(request.match_info["token"])
        if state is None or not state.acknowledged or request.match_info["app_id"] != str(self.application_id):
            return None
        return state

    async def _post_followup(self, request: web.Request) -> web.Response:
        record = _current_record.get()
        state = self._webhook_interaction(request)
        if state is None:
            return _error(404, "Unknown Webhook", 10015)
        body = record.json or {}
        if self._is_empty(body, record.files):
            return _error(400, "Cannot send an empty message", 50006)
        message = self._create_message(state.channel_id, self.bot_id, body, record.files, webhook=True)
        if request.query.get("wait", "").lower() in ("1", "true"):
            return _json(message)
        return _no_content()

    async def _webhook_message(self, request: web.Request) -> web.Response:
        """GET/PATCH/DELETE of ``@original`` or a follow-up of an interaction."""
        record = _current_record.get()
        state = self._webhook_interaction(request)
        if state is None:
            return _error(404, "Unknown Webhook", 10015)
        raw_id = request.match_info["message_id"]
        message_id = state.original_message_id if raw_id == "@original" else int(raw_id)
        message = self.messages.get(message_id) if message_id is not None else None
        if message is None:
            return _error(404, "Unknown Message", 10008)
        return self._delete_or_edit(request.method, message_id, message, record, ends_loading=raw_id == "@original")

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            return _error(404, "Unknown Channel", 10003)
        return _json(channel)

    async def _post_channel_message(self, request: web.Request) -> web.Response:
        record = _current_record.get()
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        body = record.json or {}
        if self._is_empty(body, record.files):
            return _error(400, "Cannot send an empty message", 50006)
        return _json(self._create_message(channel_id, self.bot_id, body, record.files))

    async def _channel_message(self, request: web.Request) -> web.Response:
        record = _current_record.get()
        channel_id, message_id = int(request.match_info["channel_id"]), int(request.match_info["message_id"])
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != str(channel_id):
            return _error(404, "Unknown Message", 10008)
        return self._delete_or_edit(request.method, message_id, message, record)

    def _delete_or_edit(
        self, method: str, message_id: int, message: dict[str, Any], record, *, ends_loading: bool = False
    ) -> web.Response:
        """DELETE, PATCH or GET of a message, for channel messages and webhook messages alike.

        ``ends_loading``: the message is an interaction's deferred original, whose first edit
        ends "is thinking...".
        """
        if method == "DELETE":
            del self.messages[message_id]
            return _no_content()
        if method == "PATCH":
            self._edit_message(message, record.json or {}, record.files)
            if ends_loading:
                message["flags"] &= ~LOADING_FLAG
        return _json(message)

    async def _typing(self, request: web.Request) -> web.Response:
        if int(request.match_info["channel_id"]) not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        return _no_content()

    async def _create_dm(self, request: web.Request) -> web.Response:
        recipient_id = int(_current_record.get().json["recipient_id"])
        if recipient_id not in self.users:
            return _error(400, "Invalid Recipient(s)", 50033)
        return _json(self.channels[self.dm_channel(recipient_id)])

    async def _get_attachment(self, request: web.Request) -> web.Response:
        stored = self._attachments.get(int(request.match_info["attachment_id"]))
        if stored is None or stored[0] != request.match_info["filename"]:
            return _error(404, "Unknown attachment")
        _, data, content_type = stored
        return web.Response(body=data, headers={"Content-Type": content_type})


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
