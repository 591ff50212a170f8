"""newsdesk's engine: ingestion, storage, retrieval and quoting. It knows nothing of Discord."""

from .engine import Engine
from .events import ArticlesAdded
from .errors import ModelMismatchError, NewsdeskError, QuestionError
from .ingest.writer import FileReport, IngestReport
from .settings import Settings, load_settings
from .store import GLOBAL_SCOPE
from .types import Answer, Article, ArticleText, Follow, IndexStats, Quote, Stats

__all__ = [
    "Answer",
    "Article",
    "ArticlesAdded",
    "ArticleText",
    "Engine",
    "FileReport",
    "Follow",
    "GLOBAL_SCOPE",
    "IndexStats",
    "IngestReport",
    "ModelMismatchError",
    "NewsdeskError",
    "Quote",
    "QuestionError",
    "Settings",
    "Stats",
    "load_settings",
]
