"""Shared test helpers: settings for fast engines, and article files written on the fly."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Awaitable, Callable

from newsdesk.index.models.embedding import HASHING_DIM
from newsdesk.index.models.encoders import Encoders
from newsdesk.index.search.saved_vectors import INDEX_NAME
from newsdesk.index.search.vectors import FaissIndex
from newsdesk.index.settings import Settings, load_settings
from newsdesk.index.store.postgres import DATABASE_URL_ENV
from newsdesk.index.store.sqlite import DB_NAME

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_EVAL = PROJECT_ROOT.parent / "shared" / "eval" / "squad-v1.1-dev"
# The article newsdesk was designed around, bundled byte for byte: a Reuters story with one
# paragraph a line, no headline, the credit as its last line and no final newline.
SEED_ARTICLE = PROJECT_ROOT / "corpus" / "2009-07-05-obama-heads-to-moscow-reuters.txt"
# The MiniLM profile: its relevance model suits the hashing embedder's cosines (the file says why).
MINILM_CONFIG = PROJECT_ROOT / "config" / "minilm.toml"

# Two small articles on unrelated subjects, shared by the engine and bot tests.
BRIDGE = {
    "title": "Harbour bridge reopens",
    "date": "2024-03-01",
    "source": "Coast Gazette",
    "url": "https://example.org/bridge",
    "text": "The harbour bridge reopened on Monday after two years of repairs to its steel cables, "
    "and the first buses crossed it at dawn.\n\n"
    "Engineers replaced every cable of the harbour bridge and repainted its towers in the original green, "
    "a colour chosen when the bridge first opened.",
}
ORCHARD = {
    "title": "Orchard harvest record",
    "date": "2024-09-10",
    "source": "Valley Times",
    "text": "Apple growers in the valley picked a record harvest this autumn thanks to a mild spring "
    "and a dry, warm summer that ripened the fruit early.\n\n"
    "Prices for cider apples fell as a result of the glut, and some growers left fruit on the trees.",
}


def hashing_settings(data_dir: Path, backend: str = "sqlite", **retrieval) -> Settings:
    """Default settings with the meaning-blind hashing embedder: instant, for plumbing tests,
    and the relevance model and abstention of config/minilm.toml, made for cosines on its scale;
    no reader (tests/index/answer/test_reader.py reads with it).

    backend: the storage backend (for "postgres", NEWSDESK_DATABASE_URL names the database:
    see the `storage_backend` fixture)."""
    settings = load_settings(MINILM_CONFIG).with_data_dir(data_dir)
    settings = replace(settings, model=replace(settings.model, backend="hashing"))
    settings = replace(settings, reader=replace(settings.reader, enabled=False))
    settings = replace(settings, storage=replace(settings.storage, backend=backend))
    if retrieval:
        settings = replace(settings, retrieval=replace(settings.retrieval, **retrieval))
    return settings


async def db_rows(settings: Settings, sql: str, *params) -> list[tuple]:
    """Rows straight from the store's database, SQLite file or PostgreSQL, past the engine (a statement is committed).

    Parameters are written $1, $2... in order (SQLite gets them as ?)."""
    if settings.storage.backend == "postgres":
        import asyncpg

        connection = await asyncpg.connect(os.environ[DATABASE_URL_ENV])
        try:
            return [tuple(row) for row in await connection.fetch(sql, *params)]
        finally:
            await connection.close()
    with sqlite3.connect(settings.storage.data_dir / DB_NAME) as db:
        return db.execute(re.sub(r"\$\d+", "?", sql), params).fetchall()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> bool:
    """Whether check comes true within seconds, polled: for what the engine does in the background (a rebuild)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def saved_index(settings: Settings) -> FaissIndex | None:
    """The dense index of a hashing store as the engine last saved it: after every write, and a rebuild's when it
    is swapped in (None: no file)."""
    return FaissIndex.load(settings.storage.data_dir / INDEX_NAME, HASHING_DIM)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


FILLER_WORDS = (
    "river council budget school harvest railway museum festival election storm factory "
    "hospital bakery theatre ferry market tunnel library stadium vineyard glacier canal"
).split()


def filler_articles(count: int, seed: int = 5) -> list[dict]:
    """Articles of random everyday words, three paragraphs each: bulk for the index."""
    rng = random.Random(seed)

    def paragraph() -> str:
        return " ".join(rng.choice(FILLER_WORDS) for _ in range(30)).capitalize() + "."

    return [{"title": f"Filler {n}", "text": "\n\n".join(paragraph() for _ in range(3))} for n in range(count)]


def with_feeds(settings: Settings, **feeds) -> Settings:
    """Settings with some [feeds] keys changed (tests reach their loopback feed server: allow_private_addresses)."""
    return replace(settings, feeds=replace(settings.feeds, **feeds))


def record_embeddings(monkeypatch) -> list[list[str]]:
    """From now on, every batch of texts the engine sends to its embedder, in order: what a test
    expects not to be embedded again (vectors reused) shows up here."""
    batches: list[list[str]] = []
    embed = Encoders.embed

    async def recording_embed(self, texts):
        batches.append(list(texts))
        return await embed(self, texts)

    monkeypatch.setattr(Encoders, "embed", recording_embed)
    return batches
