"""Log lines: time, level, logger and message, as text or as one JSON object a line (`[logging] format`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from dataclasses import dataclass

from newsdesk.index import Settings
from newsdesk.index.settings import SettingsError, read_section

from .redact import HIDDEN, hide_secrets

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Whatever a log line quotes (an exception from a library, say), the token never reaches it; a
# database URL's password goes with every URL's (`hide_secrets`).
SECRET_VARIABLES = ("DISCORD_TOKEN",)


@dataclass(frozen=True)
class LoggingConfig:
    """`[logging]` in config/default.toml; the comments there say what each key does."""

    format: str = "text"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise SettingsError(f"config: [logging] format must be \"text\" or \"json\", not {self.format!r:.40}")

    @classmethod
    def from_settings(cls, settings: Settings) -> "LoggingConfig":
        return read_section(cls, settings.extra.get("logging", {}), "logging")


def _without_secrets(text: str) -> str:
    """text with the environment's secrets (read now: a .env file may have set them since start-up) as ***."""
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name)
        if secret and len(secret) >= 8:  # a short value would star out ordinary words
            text = text.replace(secret, HIDDEN)
    return hide_secrets(text)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _without_secrets(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, and exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _without_secrets(json.dumps(line, ensure_ascii=False))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")


def configure_logging(config: LoggingConfig, level: int) -> None:
    """Log at level and above to stderr, in the configured format (once per process, as basicConfig)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if config.format == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    # trafilatura logs ERROR for every page it finds no article in; newsdesk says so itself,
    # once, as that file's or that entry's problem.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
