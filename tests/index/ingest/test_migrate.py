"""`newsdesk migrate`: an embedded store copied to PostgreSQL and back answers alike, nothing embedded again."""

import asyncio
from pathlib import Path

import pytest

from newsdesk.bot.cli import main
from newsdesk.index import Engine
from newsdesk.index.store.postgres import DATABASE_URL_ENV

from tests.support.engines import BRIDGE, ORCHARD, SEED_ARTICLE, hashing_settings, record_embeddings, write_jsonl

pytestmark = pytest.mark.postgres

QUESTIONS = [
    "why does Russia oppose the missile shield?",
    "when did the harbour bridge reopen after repairs?",
    "what happened to the price of cider apples?",
]


async def fill(data_dir: Path, files: Path) -> None:
    async with await Engine.open(settings=hashing_settings(data_dir)) as engine:
        await engine.ingest_paths([write_jsonl(files / "feed.jsonl", [BRIDGE, ORCHARD]), SEED_ARTICLE])
        await engine.ingest_document(write_jsonl(files / "up.jsonl", [{"title": "Ferry", "text": "The ferry returns."}]).read_bytes(), "up.jsonl", "111")
        await engine.remove((await engine.articles(title_like="Harbour"))[0].id)  # ids with a gap
        await engine.ingest_paths([files / "feed.jsonl"])  # the bridge again, under a new id
        await engine.app_data.set("synced_commands", "abc")


async def what_it_answers(data_dir: Path, backend: str) -> tuple:
    """Every article with its id, scope and time, each question's quotes, and a setting kept with the data."""
    async with await Engine.open(settings=hashing_settings(data_dir, backend)) as engine:
        articles = [(a.id, a.scope, a.title, a.added_at, a.passages) for a in await engine.articles()]
        answers = []
        for question in QUESTIONS:
            for scopes in (None, ["global"]):
                answer = await engine.ask(question, scopes, k=5)
                answers.append([(q.article.id, q.start, q.end, q.highlight, pytest.approx(q.score, abs=1e-5)) for q in answer.answers])
        return articles, answers, await engine.app_data.get("synced_commands")


async def add_one(data_dir: Path, backend: str) -> int:
    """The id a new article gets."""
    async with await Engine.open(settings=hashing_settings(data_dir, backend)) as engine:
        data = write_jsonl(data_dir.parent / f"new-{backend}.jsonl", [{"title": "New", "text": "A new text."}]).read_bytes()
        return (await engine.ingest_document(data, "new.jsonl", "global")).article_ids[0]


def newsdesk(config: Path, data_dir: Path, *args: str) -> int:
    return main(["--config", str(config), "--data-dir", str(data_dir), *args])


def test_a_store_copied_to_postgres_and_back_answers_alike(tmp_path: Path, postgres_dsn: str, monkeypatch, capsys):
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_dsn)
    embedded, back = tmp_path / "embedded", tmp_path / "back"
    asyncio.run(fill(embedded, tmp_path))
    before = asyncio.run(what_it_answers(embedded, "sqlite"))
    embedded_calls = record_embeddings(monkeypatch)
    sqlite_config = tmp_path / "sqlite.toml"
    sqlite_config.write_text('[model]\nbackend = "hashing"\n[reader]\nenabled = false\n')
    postgres_config = tmp_path / "postgres.toml"
    postgres_config.write_text('[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[storage]\nbackend = "postgres"\n')

    assert newsdesk(sqlite_config, embedded, "migrate", "--to", "postgres") == 0
    articles, passages = len(before[0]), sum(a[-1] for a in before[0])
    assert f"Copied {articles} article(s), {passages} passage(s)" in capsys.readouterr().out
    assert asyncio.run(what_it_answers(tmp_path / "unused", "postgres")) == before
    assert newsdesk(postgres_config, tmp_path / "unused", "migrate", "--to", f"sqlite:{back}") == 0
    assert asyncio.run(what_it_answers(back, "sqlite")) == before
    assert embedded_calls == []  # nothing was embedded again

    # the copies give new articles ids past the copied ones: none is ever given twice
    for data_dir, backend in ((tmp_path / "unused", "postgres"), (back, "sqlite")):
        assert asyncio.run(add_one(data_dir, backend)) > max(a[0] for a in before[0])

    # into a store that already holds articles: refused, and nothing is added
    holding = asyncio.run(what_it_answers(back, "sqlite"))
    assert newsdesk(sqlite_config, embedded, "migrate", "--to", f"sqlite:{back}") == 1
    assert "already holds articles" in capsys.readouterr().err
    assert asyncio.run(what_it_answers(back, "sqlite")) == holding


def test_an_unknown_target_is_refused_with_the_forms_it_takes(tmp_path: Path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[model]\nbackend = "hashing"\n[reader]\nenabled = false\n')
    assert main(["--config", str(config), "--data-dir", str(tmp_path), "migrate", "--to", "mysql://x"]) == 2
    assert "postgres (the database in NEWSDESK_DATABASE_URL), a postgresql:// URL, or sqlite:FOLDER" in capsys.readouterr().err
