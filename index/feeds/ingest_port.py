"""What the feeds need of the engine: a port, so feeds/ depends on this small protocol, not on `Engine`.

`Engine` satisfies it; the feeds write through it exactly as an upload does.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from ..ingest.writer import FileReport


class IngestPort(Protocol):
    """Ingest and removal, as the feeds use them (see `Engine.ingest_document` and `Engine.remove`)."""

    async def ingest_document(self, data: bytes, name: str, scope: str, *, strict: bool = True) -> FileReport:
        """Ingest one document's bytes into a scope (strict: refuse the whole document if any part of it is bad)."""

    async def remove(self, article_id: int, scopes: Iterable[str] | None = None) -> bool:
        """Delete an article, if it exists within scopes; True if one was removed."""
