"""A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.py client in tests (see `server`),
and `run_bot` to connect a client to it (see `running`)."""

from .payloads import AttachmentPayload, FakeGuild, IdentifyRecord, RecordedRequest, SentInteraction, shard_of
from .running import run_bot
from .server import FakeDiscord

__all__ = [
    "AttachmentPayload",
    "FakeDiscord",
    "FakeGuild",
    "IdentifyRecord",
    "RecordedRequest",
    "SentInteraction",
    "run_bot",
    "shard_of",
]
