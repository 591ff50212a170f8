"""IDENTIFY turns shared by every process of the bot.

Discord lets a bot start sessions (IDENTIFY) `max_concurrency` at a time: one per bucket
`shard_id % max_concurrency` every 5 seconds, counted over all the bot's processes; an
IDENTIFY past that is refused. discord.py spaces the shards of one process (its
`before_identify_hook` sleeps 5 s). When other processes run the other shards, they take
turns through something they all see: lock files on one machine (`FileIdentifyTurns`), or the
database they share (`identify_postgres.PostgresIdentifyTurns`). `identify_backend.identify_turns` picks how.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from pathlib import Path

from filelock import AsyncFileLock


class IdentifyTurns(ABC):
    """Who of the bot's processes may IDENTIFY next in a bucket.

    Args:
        application_id: the bot's application: processes of another bot take other turns.
        spacing: seconds between two IDENTIFYs of one bucket (Discord: 5).
    """

    def __init__(self, application_id: int, spacing: float) -> None:
        self.application_id = application_id
        self.spacing = spacing

    @abstractmethod
    async def take_turn(self, bucket: int) -> None:
        """Return when this process may IDENTIFY in `bucket`, the turn recorded as taken now.

        Until then no other process of the bot takes a turn in that bucket, and the bucket's
        last IDENTIFY is at least `spacing` seconds old when this returns.
        """

    def _wait_after(self, seconds_since_last: float | None) -> float:
        """How long to wait, the bucket's last turn having been that long ago (None: never)."""
        return 0.0 if seconds_since_last is None else max(0.0, self.spacing - seconds_since_last)


class FileIdentifyTurns(IdentifyTurns):
    """Turns through a lock file per bucket in a folder every process on this machine uses.

    The time of the bucket's last turn is written beside the lock before it is released.
    """

    def __init__(self, folder: Path, application_id: int, spacing: float) -> None:
        super().__init__(application_id, spacing)
        self.folder = folder

    async def take_turn(self, bucket: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"identify-{self.application_id}-bucket-{bucket}"
        last_turn = self.folder / f"{name}.last"
        async with AsyncFileLock(self.folder / f"{name}.lock"):
            await asyncio.sleep(self._wait_after(_seconds_since(last_turn)))
            last_turn.write_text(repr(time.time()), encoding="utf-8")


def _seconds_since(stamp: Path) -> float | None:
    """Seconds since the time written in `stamp`; None if there is none (never, or a torn write)."""
    try:
        return time.time() - float(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
