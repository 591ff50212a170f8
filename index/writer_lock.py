"""One writer per data folder: a lock file, and beside it who holds it.

A second process writing the same store would overwrite the first one's index files
with its own view of the database, so it is refused, naming the holder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import NewsdeskError

LOCK_NAME = "writer.lock"
HOLDER_NAME = "writer.json"


class WriterLockedError(NewsdeskError):
    """Another process writes to this data folder."""


class WriterLock:
    """Held by the one process that may write to a data folder, until released (or it exits)."""

    def __init__(self, data_dir: Path):
        self._data_dir = data_dir
        self._lock = FileLock(data_dir / LOCK_NAME)
        self._holder = data_dir / HOLDER_NAME

    def acquire(self) -> None:
        """Take the lock at once, or raise WriterLockedError naming who holds it."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise WriterLockedError(
                f"{self._data_dir} is being written by another newsdesk process ({self._describe_holder()}); "
                "stop it first (`newsdesk ask` and `newsdesk articles` work beside it)."
            ) from None
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self._holder.write_text(json.dumps({"pid": os.getpid(), "command": command, "since": since}), encoding="utf-8")

    def release(self) -> None:
        self._holder.unlink(missing_ok=True)
        self._lock.release()

    def _describe_holder(self) -> str:
        try:
            holder = json.loads(self._holder.read_text(encoding="utf-8"))
            return f"pid {holder['pid']}, `{holder['command']}`, since {holder['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "holder unknown"
