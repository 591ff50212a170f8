"""Hostile questions and injection through scopes, titles and ids (issue 5): answered or refused, nothing changed."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest

from newsdesk.index import Answer, Engine, QuestionError

from tests.support.engines import hashing_settings, write_jsonl
from tests.support.faults import FUZZ_BODY, SEED_ARTICLES, assert_quotes_verbatim, db_counts, one_line, ro_db


HOSTILE_QUESTIONS = [
    "'; DROP TABLE articles; --",
    "\" OR 1=1 --",
    "bridge'); DELETE FROM passages; --",
    "1; UPDATE articles SET text = 'pwned'",
    "%' OR title LIKE '%",
    "\U0001f525\U0001f525\U0001f30d\U0001f440",
    "\U0001f1fa\U0001f1e6\u200d\U0001f469\u200d\U0001f4bb",
    "@everyone <@123> <@&456> <#789> what about the bridge?",
    "@here did the harbour bridge reopen?",
    "bridge\x00 reopened\x07 \x1b[2J on\x08 Monday\x7f?",
    "\u202ewhen did the bridge reopen\u202c \u2066isolated\u2069 \u200f",
    "\u200b\u200b\u200b",
    "\x00\x00\x00",
    "harbour \ud800 bridge",
    "```bridge``` **reopened** ||spoiler|| [link](http://example.org)",
    "\\x00 \\n \\' UNION SELECT * FROM meta --",
]


@pytest.fixture
async def qa_engine(tmp_path: Path):
    engine = await Engine.open(settings=hashing_settings(tmp_path / "data"))
    await engine.ingest_paths([write_jsonl(tmp_path / "seed.jsonl", SEED_ARTICLES)])
    await engine.ingest_document(
        json.dumps({"title": "Ferry timetable", "text": FUZZ_BODY}).encode(), "server.jsonl", scope="111"
    )
    yield engine
    await engine.close()


def table_snapshot(data_dir: Path) -> tuple:
    with closing(ro_db(data_dir)) as db:
        tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        rows = db.execute("SELECT id, scope, title, text FROM articles ORDER BY id").fetchall()
        return tables, rows, db_counts(data_dir)


async def test_hostile_questions_are_answered_or_refused_and_change_nothing(qa_engine: Engine):
    data_dir = qa_engine.settings.storage.data_dir
    before = table_snapshot(data_dir)
    assert len(before[1]) == 3
    for question in HOSTILE_QUESTIONS:
        for scopes in (None, ["global"], ["global", "111"], [question]):
            try:
                answer = await qa_engine.ask(question, scopes=scopes)
            except QuestionError as exc:
                assert one_line(str(exc)) and len(str(exc)) > 10, repr(str(exc))
                continue
            assert isinstance(answer, Answer)
            await assert_quotes_verbatim(qa_engine, answer)
            if scopes == [question]:  # a scope no server has: nothing to quote
                assert answer.abstained and not answer.answers and not answer.closest
        try:
            assert await qa_engine.search_articles(question, scopes=[question]) == []
        except QuestionError as exc:
            assert one_line(str(exc))
    assert table_snapshot(data_dir) == before


async def test_injection_through_scopes_titles_and_ids_finds_and_removes_nothing(qa_engine: Engine):
    data_dir = qa_engine.settings.storage.data_dir
    before = table_snapshot(data_dir)
    injected = ["' OR 1=1 --", "global' OR '1'='1", "111\" OR \"\"=\"", "%", "_", "\\"]
    assert await qa_engine.articles(scopes=injected) == []
    for pattern in ["%", "_", "' OR 1=1 --", "%' OR '1'='1", "\\%", "[a-z]"]:
        assert await qa_engine.articles(title_like=pattern) == [], pattern
    for row_id, *_ in before[1]:
        assert await qa_engine.article(row_id, scopes=injected) is None
        assert not await qa_engine.remove(row_id, scopes=injected)
    assert (await qa_engine.stats(scopes=injected)).articles == 0
    assert table_snapshot(data_dir) == before


async def test_question_length_limit_is_exact_and_explained(qa_engine: Engine):
    limit = qa_engine.settings.question.max_chars
    words = ("did the harbour bridge reopen after repairs " * (limit // 10 + 10)).split()
    at_limit = ""
    for word in words:
        if len(at_limit) + 1 + len(word) > limit:
            break
        at_limit = f"{at_limit} {word}".strip()
    at_limit = at_limit + "x" * (limit - len(at_limit))
    assert len(at_limit) == limit
    answer = await qa_engine.ask(at_limit)
    assert isinstance(answer, Answer)
    await assert_quotes_verbatim(qa_engine, answer)
    for too_long in (at_limit + "y", "why " * 50_000, "x" * 1_000_000):
        with pytest.raises(QuestionError) as raised:
            await qa_engine.ask(too_long)
        message = str(raised.value)
        assert one_line(message) and f"{limit:,}" in message and "limit" in message, message
    # white space does not count against the limit, and white space alone is an empty question
    assert isinstance(await qa_engine.ask("  \n\t ".join(at_limit.split(" "))), Answer)
    with pytest.raises(QuestionError, match="empty"):
        await qa_engine.ask(" \n\t\r " * 10_000)
