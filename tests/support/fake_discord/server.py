"""A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.py client in tests.

Why this exists: no machine that runs these tests can reach Discord, and replacing
discord.py internals (as dpytest does) would skip exactly the code paths the bot uses in
production. Instead, one aiohttp app serves the HTTP API under ``/api/v10`` and the
gateway over a WebSocket at ``/``; the unmodified client is pointed at it through two


class attributes (see :meth:`FakeDiscord.install`). The fake keeps just enough state
(users, guilds, channels, messages, interactions, synced commands) to hand discord.py the
payloads it insists on, and records every REST call so tests can assert on what the bot
sent.

The payload facts this is built on were gathered in the team's notes on the Discord loopback
(outside this repository); it is built against discord.py 2.7.1 (pinned in pyproject), whose
payload requirements change between minor releases.

Typical use (the `fake_discord` fixture is in tests/conftest.py; `run_bot` in `running`)::

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
from typing import TYPE_CHECKING, Any

import discord
import yarl
from aiohttp import web

if TYPE_CHECKING:
    import pytest

from .gateway import GatewaySocket
from .payloads import (
    API_PREFIX,
    FakeGuild,
    IdentifyRecord,
    RecordedRequest,
    _Connection,
    _FailureRule,
    _GatewaySession,
    _InteractionState,
)
from .recording import RequestLog
from .rest import RestApi
from .state import WorldState
from .tester import TesterSide


class FakeDiscord(WorldState, RequestLog, TesterSide, GatewaySocket, RestApi):
    """A loopback Discord: REST under ``/api/v10`` and the gateway at ``/``, on an ephemeral port.

    Ids are ints in this API and strings in payloads, as on Discord. The application id
    deliberately differs from the bot user's id so code that confuses them fails here.
    """

    def __init__(
        self,
        *,
        bot_name: str = "newsdesk-test",
        heartbeat_interval_ms: int = 41_250,
        recommended_shards: int = 1,
        max_concurrency: int = 1,
    ) -> None:
        self._ids = itertools.count(discord.utils.time_snowflake(datetime.datetime.now(datetime.timezone.utc)))
        self.heartbeat_interval_ms = heartbeat_interval_ms
        #: What ``GET /gateway/bot`` answers: the shard count Discord recommends, and how many
        #: IDENTIFYs it allows at once (one per bucket ``shard_id % max_concurrency`` every 5 s).
        self.recommended_shards = recommended_shards
        self.max_concurrency = max_concurrency
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
        #: Every IDENTIFY, with the shard it named and when it arrived and was answered.
        self.identifies: list[IdentifyRecord] = []
        self._attachments: dict[int, tuple[str, bytes, str]] = {}
        self._failures: list[_FailureRule] = []
        self._sessions: dict[str, _GatewaySession] = {}
        self._connections: set[_Connection] = set()
        # Cleared by hold_hello(): sockets connect but hear no HELLO, so they cannot IDENTIFY yet.
        self._hello_gate = asyncio.Event()
        self._hello_gate.set()
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

