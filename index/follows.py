"""Follows: standing questions whose answers in newly added articles are delivered once each.

The application adds a follow (a topic, what it may see, where to deliver), listens for
new articles (`Engine.subscribe`), asks `matches` which of them answer which follows,
and `claim`s each delivery before making it: the claim is recorded in the store, so an
article goes out at most once per follow, across restarts.
"""

from __future__ import annotations

from typing import Sequence

from .events import ArticlesAdded
from .questions import Questions
from .store import Store
from .types import Follow, Quote


class Follows:
    def __init__(self, store: Store, questions: Questions):
        self._store = store
        self._questions = questions

    async def add(self, owner: str, scopes: Sequence[str], topic: str, target: str) -> Follow:
        """Follow a topic (checked as a question is; QuestionError if it cannot be asked)."""
        return await self._store.add_follow(owner, list(scopes), self._questions.check(topic), target)

    async def list(self, owner: str | None = None) -> list[Follow]:
        """An owner's follows (None: everyone's), oldest first."""
        return await self._store.follows(owner)

    async def remove(self, follow_id: int, owner: str) -> Follow | None:
        """Stop an owner's follow; the follow stopped, or None if the owner has no such follow."""
        return await self._store.remove_follow(follow_id, owner)

    async def matches(self, event: ArticlesAdded) -> list[tuple[Follow, Quote]]:
        """For each follow that may see the new articles, the best quote of each that answers its topic."""
        found = []
        for follow in await self._store.follows():
            if event.scope in follow.scopes:
                quotes = await self._questions.quotes_in(follow.topic, follow.scopes, event.article_ids)
                found.extend((follow, quote) for quote in quotes)
        return found

    async def claim(self, follow: Follow, article_id: int) -> bool:
        """Record a delivery about to be made; False if it was made before (or the follow is gone): skip it."""
        return await self._store.claim_delivery(follow.id, article_id)
