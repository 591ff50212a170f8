"""What the application keeps with the data: its own keys and values, and verdicts on answers.

The engine gives these a place without knowing what they mean: the Discord bot keeps its
last synced command schema and its feedback salt here, and records members' verdicts with
their ids hashed as it chooses.
"""

from __future__ import annotations

import json

from .store import Store
from .types import Answer


class AppData:
    """Keys, values and feedback stored beside the articles, in the same store."""

    def __init__(self, store: Store):
        self._store = store

    async def get(self, key: str) -> str | None:
        """A value the application stored under key, or None."""
        return await self._store.get_meta(f"app:{key}")

    async def set(self, key: str, value: str) -> None:
        await self._store.set_meta(f"app:{key}", value)

    async def record_feedback(self, answer: Answer, rater: str, helpful: bool) -> None:
        """Store a verdict on an answer with the quotes it showed; rater says who gave it, as the application keys them."""
        shown = [{"article_id": q.article.id, "start": q.start, "end": q.end} for q in answer.answers]
        await self._store.add_feedback(answer.question, json.dumps(shown), rater, helpful)
