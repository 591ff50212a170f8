"""What the fault tests share: read-only looks at the store, verbatim checks, and the articles they start from."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from newsdesk.index import Answer, Engine
from newsdesk.index.models.embedding import model_identity
from newsdesk.index.store.sqlite import DB_NAME

HASHING_MODEL = model_identity("hashing", "")
CHILD_TIMEOUT = 30.0
SCRIPTS = Path(__file__).resolve().parent / "scripts"


def ro_db(data_dir: Path) -> sqlite3.Connection:
    """A read-only connection, so that checking the store can never change it."""
    return sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True)


TABLES = ("articles", "passages", "sentences", "embeddings", "meta", "feedback")


def db_counts(data_dir: Path) -> dict[str, int]:
    with closing(ro_db(data_dir)) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


async def assert_quotes_verbatim(engine: Engine, answer: Answer) -> None:
    for q in answer.answers:
        stored = await engine.article(q.article.id)
        assert stored is not None, f"quoted article {q.article.id} does not exist"
        assert stored.text[q.start : q.end] == q.quote, f"quote is not verbatim: {q.quote[:80]!r}"
        assert q.quote[q.highlight_start : q.highlight_end] == q.highlight


async def assert_passages_verbatim(engine: Engine, article_ids: list[int]) -> None:
    """Every stored passage of these articles is exactly its article's text[start:end]."""
    with closing(ro_db(engine.settings.storage.data_dir)) as db:
        marks = ",".join("?" * len(article_ids))
        ids = [r[0] for r in db.execute(f"SELECT id FROM passages WHERE article_id IN ({marks})", article_ids)]
    texts = {a: (await engine.article(a)).text for a in article_ids}
    rows = await engine.passages(ids)
    assert len(rows) == len(ids)
    for p in rows:
        assert p.text == texts[p.article_id][p.start : p.end], f"passage {p.id} differs from its article's text"


def one_line(message: str) -> bool:
    return len(message.splitlines()) == 1


SEED_ARTICLES = [
    {
        "title": "Harbour bridge reopens",
        "date": "2024-03-01",
        "text": "The harbour bridge reopened on Monday after two years of repairs to its steel cables, "
        "and the first buses crossed it at dawn.\n\nEngineers replaced every cable and repainted the towers.",
    },
    {
        "title": "Orchard harvest record",
        "date": "2024-09-10",
        "text": "Apple growers in the valley picked a record harvest this autumn thanks to a mild spring "
        "and a dry, warm summer.\n\nPrices for cider apples fell as a result of the glut.",
    },
]

FUZZ_BODY = (
    "The harbour council approved the new ferry terminal on Tuesday after a long debate about costs. "
    "Work will start in the spring, and the terminal should open within two years.\n\n"
    "Residents near the quay said they worried about traffic, but shop owners welcomed the plan."
)
