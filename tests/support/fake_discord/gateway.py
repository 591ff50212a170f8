"""The gateway's socket side: HELLO, IDENTIFY, RESUME, heartbeats and member chunks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from .payloads import (
    DISPATCH,
    HEARTBEAT,
    HEARTBEAT_ACK,
    HELLO,
    IDENTIFY,
    INVALID_SESSION,
    IdentifyRecord,
    PRESENCE_UPDATE,
    REQUEST_GUILD_MEMBERS,
    RESUME,
    VOICE_STATE_UPDATE,
    _Connection,
    _GatewaySession,
    log,
    shard_of,
)


class GatewaySocket:
    """The WebSocket the bot connects to, and its sessions."""

    # ------------------------------------------------------------------ gateway: socket side

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        connection = _Connection(ws)
        self._connections.add(connection)
        await self._notify()
        try:
            await self._hello_gate.wait()
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
        shard = d.get("shard")
        record = IdentifyRecord(tuple(shard) if shard else None, time.monotonic())
        self.identifies.append(record)
        session = _GatewaySession(uuid.uuid4().hex, d.get("intents", 0), shard)
        session.connection = connection
        connection.session = session
        self._sessions[session.session_id] = session
        guild_ids = [gid for gid in self.guilds if self._session_receives(session, gid)]
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
        record.ready_at = time.monotonic()
        for guild_id in guild_ids:
            await connection.send(DISPATCH, self.guild_payload(guild_id), "GUILD_CREATE")
        session.ready = True
        await self._notify()

    @staticmethod
    def _session_receives(session: _GatewaySession, guild_id: int | None) -> bool:
        """Whether a session gets the events of a guild (None: DMs, which go to shard 0), as on Discord."""
        if session.shard is None:
            return True
        shard_id, shard_count = session.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, shard_count))

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

