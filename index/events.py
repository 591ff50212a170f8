"""Telling the application what was just stored: articles added, once they are committed and searchable.

Whoever writes (an upload, a corpus/ scan, a feed poll) goes through ingest, and ingest
publishes here after the articles are committed and indexed, outside the write lock. A
listener is a plain function called on the event loop: it must return at once (put the
event on a queue, start a task), never wait for a question or a write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArticlesAdded:
    """Articles just committed to one scope, searchable from now on."""

    scope: str
    article_ids: tuple[int, ...]


Listener = Callable[[ArticlesAdded], None]


class Events:
    """Listeners for `ArticlesAdded`; a failing listener is logged and never fails the write that published."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call listener after every commit of new articles; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, event: ArticlesAdded) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a listener of new articles failed")
