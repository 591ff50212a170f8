"""`newsdesk config show`: the effective settings as TOML, secrets hidden."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from newsdesk.index import Settings

from .redact import HIDDEN, hide_secrets, is_secret_name

# Secrets that only ever come from the environment: shown as set or not, never their value
# (a database URL shows its user and host, its password hidden).
SECRET_VARIABLES = ("DISCORD_TOKEN", "NEWSDESK_DATABASE_URL")


def _toml_value(key: str, value: Any) -> str:
    if is_secret_name(key) and value not in ("", None):
        return json.dumps(HIDDEN)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(key, item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(_toml_line(str(k), v) for k, v in value.items()) + " }"
    # JSON's string escapes are TOML's basic string escapes
    return json.dumps(hide_secrets(str(value) if isinstance(value, Path) else value), ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if key.replace("-", "_").isidentifier() and key.isascii() else json.dumps(key)


def _toml_line(key: str, value: Any) -> str:
    return f"{_toml_key(key)} = {_toml_value(key, value)}"


def effective_toml(settings: Settings) -> str:
    """Every section and key as the process would run with them (files and NEWSDESK_ variables applied)."""
    lines = [
        "# newsdesk's effective settings: config/default.toml, then --config or NEWSDESK_CONFIG, then",
        "# NEWSDESK_SECTION__KEY variables. Secrets come from the environment only:",
    ]
    for variable in SECRET_VARIABLES:
        value = os.environ.get(variable, "")
        shown = "not set" if not value else hide_secrets(value) if "://" in value else "set (hidden)"
        lines.append(f"#   {variable}: {shown}")
    lines.append("")
    tables = {f.name: asdict(getattr(settings, f.name)) for f in fields(settings) if f.name != "extra"}
    tables |= {name: table for name, table in settings.extra.items() if isinstance(table, dict)}
    # keys outside any table come first, as TOML requires
    lines += [_toml_line(name, value) for name, value in settings.extra.items() if name not in tables]
    for name, table in tables.items():
        lines += [f"[{_toml_key(name)}]", *(_toml_line(key, value) for key, value in table.items()), ""]
    return "\n".join(lines)
