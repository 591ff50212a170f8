"""newsdesk's engine: ingestion, storage, retrieval and quoting. It knows nothing of Discord."""

from .engine import Engine, FileReport, IngestReport
from .errors import ModelMismatchError, NewsdeskError, QuestionError
from .settings import Settings, load_settings
from .store import GLOBAL_SCOPE
from .types import Answer, Article, ArticleText, Quote, Stats

__all__ = [
    "Answer",
    "Article",
    "ArticleText",
    "Engine",
    "FileReport",
    "GLOBAL_SCOPE",
    "IngestReport",
    "ModelMismatchError",
    "NewsdeskError",
    "Quote",
    "QuestionError",
    "Settings",
    "Stats",
    "load_settings",
]
