"""Feeds, end to end: articles per minute through one poll, and question latency while it runs.

    python bench/feeds_bench.py --json --articles 200
    python bench/feeds_bench.py --json --articles 500 --paragraphs 1 --no-upload-baseline   # many short items

A loopback server (the tests' tests/support/feed_server) serves an RSS feed of N stories that carries
only teasers, so every item takes the whole path a real news feed takes: the feed is
fetched and parsed, each linked page is fetched (two at a time, [feeds] per_host_concurrency)
and its article extracted by trafilatura, then the items are ingested (split, embedded,
stored, indexed) by the real engine with the configured model. Beside it, in the same run:
- the configured model's raw embedder (bench.raw_embedder: no engine around it) on the
  stored passage texts, as articles/min;
- the same stories' full texts ingested as one jsonl upload on a fresh engine (what the
  feed path adds to ingest: fetching, extraction, bookkeeping);
- question p50/p95 on the same engine, idle (before the poll) and during the poll (asked
  one after another with a short pause, as a server's members would).

Stories are SQuAD's Wikipedia articles in five-paragraph pieces (../shared/eval), else the
bundled corpus; `--paragraphs N` cuts them into stories of N paragraphs (more, shorter items,
so that a poll of many items fits a bench run).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench import QUESTIONS, ROOT, ingest_texts, load_the_embedder, percentile, raw_embedder, stored_passages, timed_ask  # beside this script

sys.path.insert(0, str(ROOT))

from newsdesk.index import Engine, load_settings  # noqa: E402
from tests.support.feed_server import FeedServer, Story  # noqa: E402


def feed_stories(count: int, paragraphs_per_story: int | None = None) -> list[Story]:
    """count stories of ingest_texts' articles; with paragraphs_per_story, each article is cut into
    stories of that many paragraphs (more, shorter items than there are articles)."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    pieces = []
    for title, body in ingest_texts(10**6 if paragraphs_per_story else count):
        paragraphs = [p for p in body.split("\n\n") if p.strip()]
        step = paragraphs_per_story or len(paragraphs)
        for part, start in enumerate(range(0, len(paragraphs), step), 1):
            pieces.append((f"{title} [{part}]" if paragraphs_per_story else title, paragraphs[start : start + step]))
    stories = []
    for n, (title, paragraphs) in enumerate(pieces[:count]):
        teaser = paragraphs[0].split(". ")[0][:200]
        stories.append(Story(f"story-{n}", title, teaser, paragraphs, now - dt.timedelta(minutes=n)))
    return stories


async def plain_ingest_seconds(settings, stories: list[Story]) -> float:
    """The same stories' full texts ingested as one jsonl upload (no fetching, no extraction), on a fresh engine."""
    document = "".join(json.dumps({"title": s.title, "text": s.body}) + "\n" for s in stories).encode()
    with tempfile.TemporaryDirectory() as scratch:
        engine = await Engine.open(Path(scratch) / "data", settings)
        try:
            await load_the_embedder(engine)
            started = time.perf_counter()
            report = await engine.ingest_document(document, "stories.jsonl", "global")
            assert report.articles_added == len(stories), report.problems
            return time.perf_counter() - started
        finally:
            await engine.close()


async def bench_feed_poll(
    count: int, pause: float, repeats: int, paragraphs_per_story: int | None = None, upload_baseline: bool = True
) -> dict:
    settings = load_settings()
    settings = replace(settings, feeds=replace(settings.feeds, allow_private_addresses=True))
    scopes = ["global"]
    load_before = os.getloadavg()[0]
    async with FeedServer(feed_stories(count, paragraphs_per_story)) as server:
        with tempfile.TemporaryDirectory() as scratch:
            in_scratch = settings.with_data_dir(Path(scratch) / "data")
            engine = await Engine.open(settings=in_scratch)
            try:
                await engine.ingest_paths([settings.corpus.dir])  # questions have articles to answer from
                await load_the_embedder(engine)  # the model's load is not the poll's
                await engine.warm_up()
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
            finally:
                await engine.close()
            fed_ids = {a.id for a in fed}
            passages = [p for p in await stored_passages(in_scratch) if p.article_id in fed_ids]
    assert report.error is None and len(fed) == len(articles) - stored_before, report
    load_after_poll = os.getloadavg()[0]
    ingest_seconds = await plain_ingest_seconds(settings, server.stories) if upload_baseline else None
    embedder = raw_embedder(settings)
    embedder.encode(["warm up"])
    raw_started = time.perf_counter()
    embedder.encode([p.text for p in passages])
    raw_seconds = time.perf_counter() - raw_started
    ours, raw = len(fed) / seconds * 60, len(fed) / raw_seconds * 60
    p95, idle_p95 = percentile(during, 95), percentile(idle, 95)
    plain = len(fed) / ingest_seconds * 60 if ingest_seconds else None
    return {
        "items": len(server.stories),
        "paragraphs_per_item": paragraphs_per_story or 5,
        "articles_added": len(fed),
        "passages": len(passages),
        "page_fetches": sum(v for k, v in server.requests.items() if k.startswith("/articles/")),
        "poll_s": round(seconds, 1),
        "articles_per_min": round(ours, 1),
        "raw_encoder_articles_per_min": round(raw, 1),
        "ratio_to_raw_encoder": round(ours / raw, 2),
        "plain_ingest_articles_per_min": plain and round(plain, 1),
        "ratio_to_plain_ingest": plain and round(ours / plain, 2),
        "questions_during": len(during),
        "during_p50_ms": round(percentile(during, 50), 1),
        "during_p95_ms": round(p95, 1),
        "idle_p50_ms": round(percentile(idle, 50), 1),
        "idle_p95_ms": round(idle_p95, 1),
        "p95_ratio_to_idle": round(p95 / idle_p95, 2),
        "load_avg_1m_before_after_poll": [round(load_before, 1), round(load_after_poll, 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--articles", type=int, default=200, help="items in the feed")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between questions during the poll")
    parser.add_argument("--repeats", type=int, default=3, help="times each idle question is asked")
    parser.add_argument("--paragraphs", type=int, help="stories of N paragraphs (default: 5)")
    parser.add_argument("--no-upload-baseline", dest="upload_baseline", action="store_false",
                        help="skip the same texts' jsonl upload (halves the run)")
    args = parser.parse_args()
    r = asyncio.run(bench_feed_poll(args.articles, args.pause, args.repeats, args.paragraphs, args.upload_baseline))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(
        f"feed poll of {r['items']} items ({r['passages']} passages, {r['page_fetches']} pages fetched) in {r['poll_s']} s: "
        f"{r['articles_per_min']} articles/min vs raw encoder {r['raw_encoder_articles_per_min']} ({r['ratio_to_raw_encoder']}x), "
        f"vs the same texts uploaded {r['plain_ingest_articles_per_min']} ({r['ratio_to_plain_ingest']}x) "
        f"| {r['questions_during']} questions meanwhile: p50 {r['during_p50_ms']} ms, p95 {r['during_p95_ms']} ms vs idle "
        f"p50 {r['idle_p50_ms']} ms, p95 {r['idle_p95_ms']} ms ({r['p95_ratio_to_idle']}x) "
        f"| load {r['load_avg_1m_before_after_poll']}"
    )


if __name__ == "__main__":
    main()
