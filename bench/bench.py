"""newsdesk benchmarks: each figure beside a baseline measured in the same run.

    python bench/bench.py                 # table
    python bench/bench.py --json          # JSON
    python bench/bench.py --sizes 10000 100000 1000000

- ingest: passages/s end to end (read, split, embed passages and sentences, store, index)
  vs the raw sentence-transformers encoder's passages/s on the same passage texts.
- query: p50/p95 of `Engine.ask` (embed the question, dense + BM25 search, fuse, select,
  quote) on stores of synthetic passages (random texts and vectors; the question goes
  through the real model), vs sentence-transformers encode + FAISS IndexFlatIP.
  Each size runs in its own process, so its peak RSS is that store's.
- cold start: `newsdesk ask` on the bundled corpus, from a new process, store built.

The synthetic stores are written through the product's own Store, so the engine opens,
checks and searches them exactly as it would real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import Engine, load_settings  # noqa: E402
from index.engine import content_hash  # noqa: E402
from index.store import NewPassage, NewSentence, Store  # noqa: E402

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
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "corpus").iterdir())][:limit]


async def bench_ingest(article_count: int) -> dict:
    articles = ingest_texts(article_count)
    with tempfile.TemporaryDirectory() as scratch:
        feed = Path(scratch) / "feed.jsonl"
        feed.write_text("".join(json.dumps({"title": t, "text": b}) + "\n" for t, b in articles), encoding="utf-8")
        engine = await Engine.open(Path(scratch) / "data", load_settings())
        try:
            await engine._run(engine._encoder_pool, engine._loaded_embedder)  # model load is not ingest
            started = time.perf_counter()
            report = await engine.ingest_paths([feed])
            seconds = time.perf_counter() - started
            passages = [p.text for p in await engine.passages(range(1, report.passages_added + 1))]
            embedder = engine._loaded_embedder()
            started = time.perf_counter()
            embedder.encode(passages)
            raw_seconds = time.perf_counter() - started
        finally:
            await engine.close()
    ours, raw = report.passages_added / seconds, len(passages) / raw_seconds
    return {
        "passages": report.passages_added,
        "passages_per_s": round(ours, 1),
        "raw_encoder_passages_per_s": round(raw, 1),
        "ratio": round(ours / raw, 2),
    }


# --- query at size -----------------------------------------------------------------


async def build_synthetic_store(data_dir: Path, passages: int, dim: int, model: str) -> None:
    """A store of `passages` random passages (5 a article, 3 sentences a passage)."""
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(30_000)] + "missile shield treaty council library oil price".split()
    store = await Store.open(data_dir / "newsdesk.db")
    await store.set_meta("embedding_model", model)
    await store.set_meta("embedding_dim", str(dim))
    per_article, per_passage = 5, 3
    for article in range(passages // per_article):
        text_parts, new_passages, vectors, cursor = [], [], {}, 0
        for ordinal in range(per_article):
            sentences, p_start = [], cursor
            for _ in range(per_passage):
                sentence = " ".join(rng.choice(words, 12)).capitalize() + "."
                s_start = cursor
                text_parts.append(sentence + " ")
                cursor += len(sentence) + 1
                sentences.append(NewSentence(s_start, s_start + len(sentence), content_hash(f"{article}:{s_start}")))
            passage = NewPassage(ordinal, p_start, cursor - 1, content_hash(f"{article}:p{ordinal}"), tuple(sentences))
            new_passages.append(passage)
            text_parts.append("\n\n")
            cursor += 2
            for h in (passage.text_hash, *(s.text_hash for s in sentences)):
                v = rng.standard_normal(dim).astype(np.float32)
                vectors[h] = v / np.linalg.norm(v)
        await store.add_article(
            scope="global",
            content_hash=content_hash(f"article {article}"),
            title=f"Synthetic article {article}",
            text="".join(text_parts),
            origin="synthetic.jsonl",
            source="bench",
            date=f"20{10 + article % 15:02d}-01-01",
            url=None,
            passages=new_passages,
            model=model,
            new_vectors=vectors,
        )
    await store.close()


async def bench_query(size: int, repeats: int) -> dict:
    """Run in a worker process: build, open, warm up, then time the product and the baseline."""
    settings = load_settings()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch)
        await build_synthetic_store(data_dir, size, 384, f"sentence-transformers:{settings.model.name}")
        started = time.perf_counter()
        engine = await Engine.open(data_dir, settings)
        await engine.warm_up()
        ready_seconds = time.perf_counter() - started
        try:
            times = []
            for question in QUESTIONS * repeats:
                started = time.perf_counter()
                await engine.ask(question)
                times.append((time.perf_counter() - started) * 1000)
            rss = rss_mb()
            # Baseline, same process, same vectors: sentence-transformers + exact flat search.
            import faiss

            ids, matrix = await engine._store.passage_vectors(engine.model_identity)
            flat = faiss.IndexFlatIP(matrix.shape[1])
            flat.add(matrix)
            embedder = engine._loaded_embedder()
            embedder.encode(["warm up"])
            baseline = []
            for question in QUESTIONS * repeats:
                started = time.perf_counter()
                flat.search(embedder.encode([question]), 10)
                baseline.append((time.perf_counter() - started) * 1000)
        finally:
            await engine.close()
        # A restart: the vector and keyword indexes are read back, not rebuilt.
        started = time.perf_counter()
        engine = await Engine.open(data_dir, settings)
        await engine.warm_up()
        restart_seconds = time.perf_counter() - started
        await engine.close()
    p95, base_p95 = percentile(times, 95), percentile(baseline, 95)
    return {
        "passages": size,
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(p95, 1),
        "baseline_p50_ms": round(percentile(baseline, 50), 1),
        "baseline_p95_ms": round(base_p95, 1),
        "p95_ratio_to_baseline": round(p95 / base_p95, 2),
        "open_and_warm_up_s": round(ready_seconds, 2),
        "restart_ready_s": round(restart_seconds, 2),
        "rss_mb": round(rss, 1),
    }


# --- cold start ----------------------------------------------------------------------


def bench_cold_start(runs: int) -> dict:
    newsdesk = [sys.executable, "-m", "bot.cli"]
    with tempfile.TemporaryDirectory() as scratch:
        args = ["--data-dir", scratch, "ask", "why does Russia oppose the missile shield?"]
        subprocess.run(newsdesk + args, cwd=ROOT, check=True, capture_output=True)  # builds the store
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(newsdesk + args, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        baseline = []
        for _ in range(runs):  # a process that only imports sentence-transformers
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import sentence_transformers"], check=True, capture_output=True)
            baseline.append(time.perf_counter() - started)
    return {
        "ask_median_s": round(statistics.median(times), 2),
        "import_sentence_transformers_median_s": round(statistics.median(baseline), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5, help="times each question is asked")
    parser.add_argument("--ingest-articles", type=int, default=60)
    parser.add_argument("--worker-query", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_query:
        print(json.dumps(asyncio.run(bench_query(args.worker_query, args.repeats))))
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    results = {"ingest": asyncio.run(bench_ingest(args.ingest_articles)), "query": []}
    for size in args.sizes:
        worker = [sys.executable, __file__, "--worker-query", str(size), "--repeats", str(args.repeats)]
        out = subprocess.run(worker, check=True, capture_output=True, text=True).stdout
        results["query"].append(json.loads(out.strip().splitlines()[-1]))
    results["cold_start"] = bench_cold_start(3)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    i = results["ingest"]
    print(f"ingest: {i['passages_per_s']} passages/s vs raw encoder {i['raw_encoder_passages_per_s']} ({i['ratio']}x), {i['passages']} passages")
    for q in results["query"]:
        print(
            f"query @ {q['passages']:>9,}: p50 {q['p50_ms']} ms, p95 {q['p95_ms']} ms | baseline p50 "
            f"{q['baseline_p50_ms']} ms, p95 {q['baseline_p95_ms']} ms ({q['p95_ratio_to_baseline']}x) | "
            f"first open {q['open_and_warm_up_s']} s, restart {q['restart_ready_s']} s | RSS {q['rss_mb']} MB"
        )
    c = results["cold_start"]
    print(f"cold start: newsdesk ask {c['ask_median_s']} s vs import sentence_transformers {c['import_sentence_transformers_median_s']} s")


if __name__ == "__main__":
    main()
