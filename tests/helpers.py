"""Shared test helpers: settings for fast engines, and article files written on the fly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from index.settings import Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_EVAL = PROJECT_ROOT.parent / "shared" / "eval" / "squad-v1.1-dev"


def hashing_settings(data_dir: Path, **retrieval) -> Settings:
    """Default settings with the meaning-blind hashing embedder: instant, for plumbing tests."""
    settings = load_settings().with_data_dir(data_dir)
    settings = replace(settings, model=replace(settings.model, backend="hashing"))
    if retrieval:
        settings = replace(settings, retrieval=replace(settings.retrieval, **retrieval))
    return settings


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
