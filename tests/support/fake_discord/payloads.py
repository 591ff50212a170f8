"""The fake Discord's constants, payload builders and the records it keeps of requests and sessions."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import discord
from aiohttp import web

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


@dataclass
class IdentifyRecord:
    """One IDENTIFY the fake received, in arrival order in :attr:`FakeDiscord.identifies`.

    ``shard`` is the ``[shard_id, shard_count]`` the bot sent (None for an unsharded bot);
    ``at`` and ``ready_at`` are the fake's own ``time.monotonic()`` when the IDENTIFY arrived
    and when READY went back, so a test can check how bots spaced their IDENTIFYs without
    timing its own code.
    """

    shard: tuple[int, int] | None
    at: float
    ready_at: float | None = None

    def bucket(self, max_concurrency: int) -> int:
        """Discord's rate-limit key of this IDENTIFY: ``shard_id % max_concurrency``."""
        return (self.shard[0] if self.shard else 0) % max_concurrency


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events, by Discord's formula."""
    return (guild_id >> 22) % shard_count


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
