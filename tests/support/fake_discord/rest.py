"""The REST API under /api/v10: the middleware that records each request, and the endpoints the bot calls."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from .payloads import (
    API_PREFIX,
    CALLBACK_DEFERRED_MESSAGE,
    CALLBACK_DEFERRED_UPDATE,
    CALLBACK_MESSAGE,
    CALLBACK_UPDATE,
    EPHEMERAL_FLAG,
    JSON_CONTENT_TYPE,
    LOADING_FLAG,
    RecordedRequest,
    _InteractionState,
    _current_record,
    _error,
    _json,
    _no_content,
    _now,
    log,
)


class RestApi:
    """The HTTP endpoints discord.py calls, and the plumbing shared by them."""

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
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": self.max_concurrency}
        return _json({"url": self.gateway_url, "shards": self.recommended_shards, "session_start_limit": limit})

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

