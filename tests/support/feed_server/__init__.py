"""A loopback HTTP server that the feed tests own: feeds, article pages and hostile answers."""

from .documents import Story
from .newsroom import days_ago, many_stories, stories
from .server import FeedServer, serving_in_thread

__all__ = ["FeedServer", "days_ago", "many_stories", "Story", "serving_in_thread", "stories"]
