"""Feeds, end to end: articles per minute through one poll, and question latency while it runs.

    python bench/feeds_bench.py --json --articles 200

A loopback server (the tests' tests/feed_server) serves an RSS feed of N stories that carries
only teasers, so every item takes the whole path a real news feed takes: the feed is
fetched and parsed, each linked page is fetched (two at a time, [feeds] per_host_concurrency)
and its article extracted by trafilatura, then the items are ingested (split, embedded,
stored, indexed) by the real engine with the configured model. Beside it, in the same run:
- the raw sentence-transformers encoder on the stored passage texts, as articles/min;
- the same stories' full texts ingested as one jsonl upload on a fresh engine (what the
  feed path adds to ingest: fetching, extraction, bookkeeping);
- question p50/p95 on the same engine, idle (before the poll) and during the poll (asked
  one after another with a short pause, as a server's members would).

Stories are SQuAD's Wikipedia articles in five-paragraph pieces (../shared/eval), else the
bundled corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import QUESTIONS, ROOT, ingest_texts, percentile, raw_embedder, timed_ask  # beside this script

sys.path.insert(0, str(ROOT))

from newsdesk.index import Engine, load_settings  # noqa: E402
from tests.feed_server import FeedServer, Story  # noqa: E402


def feed_stories(count: int) -> list[Story]:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stories = []
    for n, (title, body) in enumerate(ingest_texts(count)):
        paragraphs = [p for p in body.split("\n\n") if p.strip()]
        teaser = paragraphs[0].split(". ")[0][:200]
        stories.append(Story(f"story-{n}", title, teaser, paragraphs, now - dt.timedelta(minutes=n)))
    return stories


async def plain_ingest_seconds(settings, stories: list[Story]) -> float:
    """The same stories' full texts ingested as one jsonl upload (no fetching, no extraction), on a fresh engine."""
    document = "".join(json.dumps({"title": s.title, "text": s.body}) + "\n" for s in stories).encode()
    with tempfile.TemporaryDirectory() as scratch:
        engine = await Engine.open(Path(scratch) / "data", settings)
        try:
            await engine.embed_passages(["warm up"])
            started = time.perf_counter()
            report = await engine.ingest_document(document, "stories.jsonl", "global")
            assert report.articles_added == len(stories), report.problems
            return time.perf_counter() - started
        finally:
            await engine.close()


async def bench_feed_poll(count: int, pause: float, repeats: int) -> dict:
    settings = load_settings()
    settings = replace(settings, feeds=replace(settings.feeds, allow_private_addresses=True))
    scopes = ["global"]
    async with FeedServer(feed_stories(count)) as server:
        with tempfile.TemporaryDirectory() as scratch:
            engine = await Engine.open(Path(scratch) / "data", settings)
            try:
                await engine.ingest_paths([settings.corpus.dir])  # questions have articles to answer from
                await engine.warm_up()
                await engine.embed_passages(["warm up"])  # the model's load is not the poll's
                idle = [await timed_ask(engine, q, scopes) for q in QUESTIONS * repeats]
                stored_before = len(await engine.articles())
                started = time.perf_counter()
                await engine.feeds.add(server.url("/rss"))
                poll = asyncio.create_task(engine.feeds.poll_due())
                during, questions = [], itertools.cycle(QUESTIONS)
                while not poll.done():
                    during.append(await timed_ask(engine, next(questions), scopes))
                    await asyncio.sleep(pause)
                (report,) = await poll
                seconds = time.perf_counter() - started
                articles = await engine.articles()
                fed = [a for a in articles if a.origin.startswith("feed-")]
                fed_passages = sum(a.passages for a in fed)
                newest = np.sort(engine.index_stats().ids)[-fed_passages:]  # ids are given out in order
                passages = await engine.passages(newest.tolist())
            finally:
                await engine.close()
    assert report.error is None and len(fed) == len(articles) - stored_before, report
    ingest_seconds = await plain_ingest_seconds(settings, server.stories)
    embedder = raw_embedder(settings)
    embedder.encode(["warm up"])
    raw_started = time.perf_counter()
    embedder.encode([p.text for p in passages])
    raw_seconds = time.perf_counter() - raw_started
    ours, raw = len(fed) / seconds * 60, len(fed) / raw_seconds * 60
    p95, idle_p95 = percentile(during, 95), percentile(idle, 95)
    return {
        "items": len(server.stories),
        "articles_added": len(fed),
        "passages": len(passages),
        "page_fetches": sum(v for k, v in server.requests.items() if k.startswith("/articles/")),
        "poll_s": round(seconds, 1),
        "articles_per_min": round(ours, 1),
        "raw_encoder_articles_per_min": round(raw, 1),
        "ratio_to_raw_encoder": round(ours / raw, 2),
        "plain_ingest_articles_per_min": round(len(fed) / ingest_seconds * 60, 1),
        "ratio_to_plain_ingest": round(ours / (len(fed) / ingest_seconds * 60), 2),
        "questions_during": len(during),
        "during_p50_ms": round(percentile(during, 50), 1),
        "during_p95_ms": round(p95, 1),
        "idle_p50_ms": round(percentile(idle, 50), 1),
        "idle_p95_ms": round(idle_p95, 1),
        "p95_ratio_to_idle": round(p95 / idle_p95, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--articles", type=int, default=200, help="items in the feed")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between questions during the poll")
    parser.add_argument("--repeats", type=int, default=3, help="times each idle question is asked")
    args = parser.parse_args()
    r = asyncio.run(bench_feed_poll(args.articles, args.pause, args.repeats))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(
        f"feed poll of {r['items']} items ({r['passages']} passages, {r['page_fetches']} pages fetched) in {r['poll_s']} s: "
        f"{r['articles_per_min']} articles/min vs raw encoder {r['raw_encoder_articles_per_min']} ({r['ratio_to_raw_encoder']}x), "
        f"vs the same texts uploaded {r['plain_ingest_articles_per_min']} ({r['ratio_to_plain_ingest']}x) "
        f"| {r['questions_during']} questions meanwhile: p50 {r['during_p50_ms']} ms, p95 {r['during_p95_ms']} ms vs idle "
        f"p50 {r['idle_p50_ms']} ms, p95 {r['idle_p95_ms']} ms ({r['p95_ratio_to_idle']}x)"
    )


if __name__ == "__main__":
    main()
