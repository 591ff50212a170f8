"""newsdesk's engine: ingestion, storage, retrieval and quoting. It knows nothing of Discord."""

from .answers import Answer, ArticleInfo, Quote
from .engine import ArticleText, Engine, FileReport, IngestReport, Stats
from .errors import ModelMismatchError, NewsdeskError, QuestionError
from .settings import Settings, load_settings
from .store import GLOBAL_SCOPE

__all__ = [
    "Answer",
    "ArticleInfo",
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
