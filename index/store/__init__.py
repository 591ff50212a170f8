"""Storage: one interface (`base.Store`), its backends, and the factory that picks one from config."""

from .base import (
    GLOBAL_SCOPE,
    FeedItemRow,
    FeedRow,
    FeedStore,
    NewArticle,
    NewPassage,
    NewSentence,
    PassageRow,
    SentenceVectors,
    Store,
)
from .factory import open_store

__all__ = [
    "GLOBAL_SCOPE",
    "FeedItemRow",
    "FeedRow",
    "FeedStore",
    "NewArticle",
    "NewPassage",
    "NewSentence",
    "PassageRow",
    "SentenceVectors",
    "Store",
    "open_store",
]
