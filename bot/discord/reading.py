"""How far the bot has read corpus/ at start-up, so that a question asked meanwhile is answered honestly.

The Corpus cog lists corpus/ first, then counts its files as they are read; the Asking
cog reads a snapshot before it answers. Until the read is done, an answer may miss
articles, and "nothing answers that" may be false.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Files of corpus/ read so far, of how many (None until they are listed)."""

    read: int
    files: int | None


class StartupReading:
    """The start-up read of corpus/: its progress, and an event set when it is done (or was not needed)."""

    def __init__(self) -> None:
        self._read = 0
        self._files: int | None = None
        self._done = asyncio.Event()

    def listed(self, files: int) -> None:
        self._files = files

    def file_read(self) -> Progress:
        """Count one more file read; how far that makes it."""
        self._read += 1
        self._files = max(self._files or 0, self._read)  # a file added after the listing
        return Progress(self._read, self._files)

    def finish(self) -> None:
        self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def progress(self) -> Progress | None:
        """How far it has got; None once it is done."""
        return None if self.done else Progress(self._read, self._files)

    async def wait(self) -> None:
        await self._done.wait()
