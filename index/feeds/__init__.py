"""Feeds: RSS 2.0, Atom and JSON Feed polled into the store (fetching, parsing, entries, polling, the service)."""

from .fetching import FetchError
from .parsing import FeedError
from .polling import PollReport
from .service import AddedFeed, FeedRefused, Feeds, RemovedFeed, feed_state, is_failing

__all__ = ["AddedFeed", "FeedError", "FeedRefused", "Feeds", "FetchError", "PollReport", "RemovedFeed", "feed_state", "is_failing"]
