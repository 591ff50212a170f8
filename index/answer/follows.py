"""Follows: standing questions whose answers in newly added articles are delivered once each.

The application adds a follow (a topic, what it may see, where to deliver), listens for
new articles (`Engine.subscribe`), asks `matches` which of them answer which follows,
and `claim`s each delivery before making it: the claim is recorded in the store, so an
article goes out at most once per follow, across restarts. It marks each batch `matched`;
at start-up, `missed` gives the articles added since (by another process, or while the
application was down), so none is left unmatched.
"""

from __future__ import annotations

from typing import Sequence

from ..events import ArticlesAdded
from .pipeline import Questions
from ..store import Store
from ..types import Follow, Quote

# The last article id matched against the follows (kept with the data).
MATCHED_THROUGH = "follows_matched_through"


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
                # An article stored before the follow began (matched late, after a restart) is not news to it.
                found.extend((follow, quote) for quote in quotes if quote.article.added_at >= follow.created_at)
        return found

    async def matched(self, event: ArticlesAdded) -> None:
        """Record that these articles were matched, so `missed` does not give them again."""
        through = int(await self._store.get_meta(MATCHED_THROUGH) or 0)
        if max(event.article_ids) > through:
            await self._store.set_meta(MATCHED_THROUGH, str(max(event.article_ids)))

    async def missed(self) -> list[ArticlesAdded]:
        """The articles added since the last batch `matched` (the first time: none, and matching starts now)."""
        through = await self._store.get_meta(MATCHED_THROUGH)
        if through is None:
            latest = await self._store.last_added()
            await self._store.set_meta(MATCHED_THROUGH, str(latest.id if latest else 0))
            return []
        added = await self._store.articles_after(int(through))
        return [ArticlesAdded(scope, tuple(ids)) for scope, ids in added.items()]

    async def claim(self, follow: Follow, article_id: int) -> bool:
        """Record a delivery about to be made; False if it was made before (or the follow is gone): skip it."""
        return await self._store.claim_delivery(follow.id, article_id)
