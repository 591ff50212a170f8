"""The dense index's two kinds: flat below a size, IVF-SQ8 above it, chosen and rebuilt by the engine (seen in the
index file it saves after every write and every rebuild)."""

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from newsdesk.index import Engine
from newsdesk.index.search.scopes import ScopeFilter
from newsdesk.index.search.vectors import IVF, FaissIndex

from tests.support.engines import BRIDGE, eventually, filler_articles, hashing_settings, saved_index, write_jsonl

def ivf_settings(data_dir: Path, ivf_from: int, nprobe: int = 1):
    settings = hashing_settings(data_dir)
    # no joining of short paragraphs: every filler paragraph is a passage of its own
    settings = replace(settings, passages=replace(settings.passages, min_chars=0))
    return replace(settings, vectors=replace(settings.vectors, ivf_from=ivf_from, nprobe=nprobe))


async def ivf_saved(settings) -> bool:
    """Whether the IVF index built in the background has been swapped in (it is saved then)."""
    index = saved_index(settings)
    return index is not None and index.kind == IVF


async def test_the_index_turns_ivf_when_the_store_outgrows_flat_and_stays_consistent(tmp_path: Path, caplog):
    settings = ivf_settings(tmp_path / "data", ivf_from=600)
    engine = await Engine.open(settings=settings)
    try:
        await engine.ingest_paths([write_jsonl(tmp_path / "small.jsonl", filler_articles(100))])
        index = saved_index(settings)  # saved after every write
        assert index.kind == "flat" and len(index) == 300
        await engine.ingest_paths([write_jsonl(tmp_path / "more.jsonl", filler_articles(150, seed=6))])
        assert await eventually(lambda: ivf_saved(settings))  # the ivf index is built in the background
        index = saved_index(settings)
        assert index.kind == IVF and len(index) == 750
        assert index.lists > 1
        first = (await engine.articles(title_like="Filler 3"))[0]
        assert await engine.remove(first.id)
    finally:
        await engine.close()
    caplog.set_level(logging.WARNING, logger="newsdesk.index.search.indexes")
    engine = await Engine.open(settings=settings)
    try:
        # read back as it was saved: no rebuild, the removed passages gone from it
        assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
        index = saved_index(settings)
        assert index.kind == IVF and len(index) == 747
        stored = await engine.passages(index.ids().tolist())
        assert len(stored) == 747 and first.id not in {p.article_id for p in stored}
    finally:
        await engine.close()


async def test_questions_and_uploads_go_on_while_the_ivf_index_is_trained(tmp_path: Path, monkeypatch):
    import asyncio
    import threading

    training, release = threading.Event(), threading.Event()
    original_train = FaissIndex.train

    def held_train(self, sample):
        training.set()
        release.wait(30)
        original_train(self, sample)

    monkeypatch.setattr(FaissIndex, "train", held_train)
    settings = ivf_settings(tmp_path / "data", ivf_from=600)
    async with await Engine.open(settings=settings) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "small.jsonl", filler_articles(100))])
        await engine.ingest_paths([write_jsonl(tmp_path / "more.jsonl", filler_articles(150, seed=6))])
        await asyncio.to_thread(training.wait, 30)  # k-means is running, off the write path
        await engine.ingest_paths([write_jsonl(tmp_path / "bridge.jsonl", [BRIDGE])])
        answer = await engine.ask("when did the harbour bridge reopen after repairs?")
        assert answer.answers[0].article.title == "Harbour bridge reopens"
        assert saved_index(settings).kind == "flat"
        release.set()
        assert await eventually(lambda: ivf_saved(settings))
        index = saved_index(settings)
        assert index.kind == IVF and len(index) == 752  # the bridge's passages added meanwhile are in it
        answer = await engine.ask("when did the harbour bridge reopen after repairs?")
        assert answer.answers[0].article.title == "Harbour bridge reopens"


async def test_a_servers_upload_is_answered_from_a_large_ivf_index(tmp_path: Path):
    settings = ivf_settings(tmp_path / "data", ivf_from=600, nprobe=1)
    # the filler in one chunk, so that the index is made ivf at its full size, not when it crosses ivf_from
    settings = replace(settings, corpus=replace(settings.corpus, chunk_chars=10**7))
    engine = await Engine.open(settings=settings)
    try:
        await engine.ingest_paths([write_jsonl(tmp_path / "filler.jsonl", filler_articles(300))])
        await engine.ingest_document(write_jsonl(tmp_path / "b.jsonl", [BRIDGE]).read_bytes(), "b.jsonl", "guild-1")
        index = saved_index(settings)
        assert index.kind == IVF and index.lists >= 20
        answer = await engine.ask("when did the harbour bridge reopen after repairs?", scopes=["guild-1"])
        assert [q.article.title for q in answer.answers][:1] == ["Harbour bridge reopens"]
    finally:
        await engine.close()


def clustered(rng: np.random.Generator, count: int, noise: float) -> np.ndarray:
    """Unit vectors around 200 centres in 64 dimensions, as text embeddings cluster by topic."""
    centres = np.random.default_rng(3).standard_normal((200, 64)).astype(np.float32)
    data = centres[rng.integers(0, 200, count)] + noise * rng.standard_normal((count, 64)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def flat_and_ivf(data: np.ndarray, nprobe: int) -> tuple[FaissIndex, FaissIndex]:
    ids = np.arange(1, len(data) + 1)
    flat, ivf = FaissIndex.empty(data.shape[1]), FaissIndex.empty(data.shape[1], IVF, len(ids), nprobe=nprobe)
    flat.add(ids, data)
    ivf.train(data[: ivf.training_size])
    ivf.add(ids, data)
    return flat, ivf


def overlap(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> float:
    return len({i for i, _ in a} & {i for i, _ in b}) / max(1, len(b))


def test_ivf_recall_against_exact_search_on_clustered_vectors():
    """IVF-SQ8 at the shipped nprobe finds nearly all of flat search's top 10."""
    rng = np.random.default_rng(4)
    flat, ivf = flat_and_ivf(clustered(rng, 20_000, 0.6), nprobe=32)
    queries = clustered(rng, 200, 0.8)
    assert np.mean([overlap(ivf.search(q, 10), flat.search(q, 10)) for q in queries]) >= 0.95


def test_ivf_search_within_a_sliver_of_the_index_probes_enough_lists():
    """Twenty allowed passages among 20,000: one probed list of hundreds would hold none of them."""
    rng = np.random.default_rng(5)
    flat, ivf = flat_and_ivf(clustered(rng, 20_000, 0.6), nprobe=1)
    allowed = np.sort(rng.choice(np.arange(1, 20_001), 20, replace=False))
    within = ScopeFilter(allowed, np.setdiff1d(np.arange(1, 20_001), allowed))
    for q in clustered(rng, 20, 0.8):
        found = ivf.search(q, 5, within)
        assert len(found) == 5 and {i for i, _ in found} <= set(allowed.tolist())
        assert overlap(found, flat.search(q, 5, within)) >= 0.8
