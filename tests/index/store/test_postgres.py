"""The PostgreSQL backend against a real server: the same evidence as the embedded backend, its
indexes in the database, and its DSN only from the environment."""

from dataclasses import astuple
from pathlib import Path

import pytest

from newsdesk.index import Engine
from newsdesk.index.store.postgres import DATABASE_URL_ENV, PostgresStore
from newsdesk.index.search.postgres_search import DatabaseSearch
from newsdesk.index.tokenization import tokenize

from tests.support.engines import BRIDGE, ORCHARD, SEED_ARTICLE, db_rows, hashing_settings, write_jsonl
from tests.support.shortlists import Shortlists, open_shortlists

pytestmark = pytest.mark.postgres

QUESTIONS = [
    "why does Russia oppose the missile shield?",
    "when did the harbour bridge reopen after repairs?",
    "what happened to the price of cider apples?",
    "bridge bridge towers green",
]


async def evidence_by_passage(shortlists: Shortlists, question: str, scopes=None) -> dict[str, tuple]:
    """Each candidate's evidence, score and marked sentence, keyed by its passage's text (ids may differ)."""
    candidates = await shortlists.candidates(question, scopes)
    texts = {p.id: p.text for p in await shortlists.passages([c.passage_id for c in candidates])}
    return {texts[c.passage_id]: (*astuple(c.evidence), c.score, c.key_sentence) for c in candidates}


async def test_both_backends_score_every_candidate_alike(tmp_path: Path, postgres_dsn: str, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_dsn)
    feed = write_jsonl(tmp_path / "feed.jsonl", [BRIDGE, ORCHARD])
    upload = write_jsonl(tmp_path / "upload.jsonl", [{"title": "Ferry", "text": "The harbour ferry returns in May."}])
    found = {}
    for backend in ("sqlite", "postgres"):
        settings = hashing_settings(tmp_path / backend, backend)
        async with await Engine.open(settings=settings) as engine:
            await engine.ingest_paths([feed, SEED_ARTICLE])
            await engine.ingest_document(upload.read_bytes(), "upload.jsonl", "111")
        async with open_shortlists(settings) as shortlists:
            found[backend] = [await evidence_by_passage(shortlists, q, s) for q in QUESTIONS for s in (None, ["global", "222"])]
    for embedded, database in zip(found["sqlite"], found["postgres"]):
        assert database.keys() == embedded.keys()
        for text, evidence in embedded.items():
            assert database[text][:-1] == pytest.approx(evidence[:-1], rel=1e-5, abs=1e-6)
            assert database[text][-1] == evidence[-1]


async def test_the_searches_are_served_by_indexes_in_the_database(tmp_path: Path, postgres_dsn: str, monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_dsn)
    settings = hashing_settings(tmp_path / "data", "postgres")
    async with await Engine.open(settings=settings) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "feed.jsonl", [BRIDGE, ORCHARD])])
        indexes = dict(await db_rows(settings, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'passages'"))
        assert "USING hnsw (embedding vector_ip_ops)" in indexes["passages_embedding"]
        assert "USING gin (terms)" in indexes["passages_terms"]
        # nothing of the embedded backend's in-process indexes is written beside it
        assert not any((tmp_path / "data").glob("vectors.faiss*")) and not (tmp_path / "data" / "keyword").exists()
        bridge = next(a for a in await engine.articles() if a.title.startswith("Harbour"))
        assert await engine.remove(bridge.id)
        # the removed article's words leave the BM25 statistics with it
        assert await db_rows(settings, "SELECT COUNT(*) FROM keyword_terms WHERE term = 'bridg'") == [(0,)]
        assert await db_rows(settings, "SELECT value FROM meta WHERE key = 'keyword_passages'") == [("2",)]


async def test_health_names_the_backend_and_never_the_password(tmp_path: Path, postgres_dsn: str, monkeypatch, caplog):
    # the test server trusts local connections, so a password in the URL is accepted and unused
    with_password = postgres_dsn.replace("postgres@", "postgres:hunter2-secret@")
    monkeypatch.setenv(DATABASE_URL_ENV, with_password)
    caplog.set_level("DEBUG")
    async with await Engine.open(settings=hashing_settings(tmp_path / "data", "postgres")) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "feed.jsonl", [BRIDGE])])
        stats = await engine.stats()
    assert stats.storage.startswith("PostgreSQL 18") and "pgvector 0.8" in stats.storage
    assert (stats.articles, stats.passages, stats.index_vectors) == (1, 2, 2)
    assert "hunter2" not in stats.storage and "hunter2" not in caplog.text


async def test_without_the_database_url_the_error_names_the_variable(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    with pytest.raises(ValueError, match=DATABASE_URL_ENV):
        await Engine.open(settings=hashing_settings(tmp_path / "data", "postgres"))


async def test_the_words_counts_are_each_words_own(tmp_path: Path, postgres_dsn: str, monkeypatch):
    """BM25's document frequencies, read back for many words at once, belong to the right words."""
    monkeypatch.setenv(DATABASE_URL_ENV, postgres_dsn)
    settings = hashing_settings(tmp_path / "data", "postgres")
    async with await Engine.open(settings=settings) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "feed.jsonl", [BRIDGE, ORCHARD]), SEED_ARTICLE])
        passages = await engine.passages(range(1, 1000))
    words = [set(tokenize(p.text)) for p in passages]
    vocabulary = sorted(set().union(*words), reverse=True)
    expected = {word: sum(word in w for w in words) for word in vocabulary}
    store = await PostgresStore.open(postgres_dsn)
    try:
        hits = await DatabaseSearch(store, settings.vectors).keyword(vocabulary, None, 5)
    finally:
        await store.close()
    assert dict(hits.statistics.doc_freq) == expected
