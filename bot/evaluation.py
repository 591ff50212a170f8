"""Measuring answer quality on a question set, with baselines beside newsdesk in the same run.

Two layouts are read (see ../shared/eval):

- answer strings (SQuAD): `corpus/*.txt` (title line, blank line, body) and
  `questions.jsonl` with `question`, `answers`, `doc` and optional `answer_start`, an
  offset into the body. A passage is a hit when it holds the annotated answer (or, without
  an offset, any gold string); the marked sentence scores when it holds a gold string.
- gold spans (OneStopQA news): `questions.jsonl` with `gold_start`/`gold_end`, offsets
  into the doc file as read. A passage is a hit when it covers at least half of the gold
  span; the marked sentence scores when at least half of it lies inside the span.

Each article is ingested into a scope of its own, so "the same question with its own
article left out" is a scope filter, not a second index. Beside newsdesk the report
gives BM25, dense (cosine) and their reciprocal-rank fusion (RRF) over the same passages.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import numpy as np

from newsdesk.index import Engine
from newsdesk.index.search.scoring import reciprocal_rank_fusion

# Depth of the BM25 and dense lists that RRF fuses (their first 10 are scored on their own).
RRF_DEPTH = 50
SYSTEMS = ("newsdesk", "bm25", "dense", "rrf")
# newsdesk as it answered before the read stage (`[reader]` and `[other_languages]` off), measured
# beside the configured newsdesk when that has either on
PREVIOUS = "previous newsdesk"


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: list[str]
    doc: str
    # The gold region in the article's stored text, once resolved (`resolve_spans`).
    answer_start: int | None = None
    gold_start: int | None = None
    gold_end: int | None = None
    # the question's language, where the set gives it (XQuAD)
    lang: str | None = None

    @property
    def has_gold_span(self) -> bool:
        return self.gold_start is not None


def load_questions(dataset_dir: Path, offset: int = 0, limit: int | None = None) -> list[EvalQuestion]:
    """Questions from questions.jsonl, lines [offset, offset + limit)."""
    questions = []
    with open(dataset_dir / "questions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            questions.append(
                EvalQuestion(
                    record["question"],
                    record.get("answers") or [],
                    record["doc"],
                    record.get("answer_start"),
                    record.get("gold_start"),
                    record.get("gold_end"),
                    record.get("lang"),
                )
            )
    end = None if limit is None else offset + limit
    return questions[offset:end]


@dataclass(frozen=True)
class Gold:
    """Where a question's answer lies in its article's stored text, and how hits are judged."""

    article_id: int
    answers: list[str]
    # The span to cover, or None (any gold string anywhere in the passage counts).
    span: tuple[int, int] | None
    # Share of the span a passage must cover: all of an answer string, half of a gold span.
    cover: float

    @property
    def is_gold_span(self) -> bool:
        """Whether the gold is an annotated span to overlap (OneStopQA), not answer strings to find (SQuAD)."""
        return self.cover < 1.0 and self.span is not None

    def _overlap(self, start: int, end: int) -> int:
        return min(end, self.span[1]) - max(start, self.span[0])

    def passage_hit(self, article_id: int, start: int, end: int, text: str) -> bool:
        if article_id != self.article_id:
            return False
        if self.span is None:
            return any(answer in text for answer in self.answers)
        return self._overlap(start, end) >= self.cover * (self.span[1] - self.span[0])

    def mostly_gold(self, article_id: int, start: int, end: int) -> bool:
        """Whether at least half of [start, end) lies inside a gold span (sets of answer strings have none)."""
        return article_id == self.article_id and self.is_gold_span and self._overlap(start, end) >= 0.5 * (end - start)

    def sentence_hit(self, article_id: int, start: int, end: int, text: str) -> bool:
        """Whether a marked sentence answers: half of it inside a gold span, or holding a gold string."""
        if self.is_gold_span:
            return self.mostly_gold(article_id, start, end)
        return article_id == self.article_id and any(answer in text for answer in self.answers)


def gold_for(question: EvalQuestion, article_id: int, body_offset: int) -> Gold:
    """The question's gold in stored-text offsets; gold spans count from the file's start, answer offsets from the body's."""
    if question.has_gold_span:
        span = (question.gold_start - body_offset, question.gold_end - body_offset)
        return Gold(article_id, question.answers, span, 0.5)
    if question.answer_start is not None and question.answers:
        span = (question.answer_start, question.answer_start + len(question.answers[0]))
        return Gold(article_id, question.answers, span, 1.0)
    return Gold(article_id, question.answers, None, 1.0)


class _SystemScore:
    """Running totals for one system."""

    def __init__(self) -> None:
        self.hit1 = self.hit5 = self.rr = self.quote1 = self.abstained = 0.0
        self.quote_counted = False
        self.times: list[float] = []

    def add(self, hits: list[bool], seconds: float, abstained: bool = False, quote_hit: bool | None = None) -> None:
        self.hit1 += bool(hits[:1] and hits[0])
        self.hit5 += any(hits[:5])
        first = next((rank for rank, hit in enumerate(hits[:10], start=1) if hit), None)
        self.rr += 1 / first if first else 0.0
        self.abstained += abstained
        if quote_hit is not None:
            self.quote_counted = True
            self.quote1 += quote_hit
        self.times.append(seconds * 1000)

    def summary(self, n: int) -> dict:
        times = np.asarray(self.times) if self.times else np.zeros(1)
        return {
            "hit@1": round(self.hit1 / n, 4),
            "hit@5": round(self.hit5 / n, 4),
            "mrr@10": round(self.rr / n, 4),
            "quote@1": round(self.quote1 / n, 4) if self.quote_counted else None,
            "abstention_rate": round(self.abstained / n, 4),
            "query_ms_p50": round(float(np.percentile(times, 50)), 1),
            "query_ms_p95": round(float(np.percentile(times, 95)), 1),
        }


async def ingest_dataset(engine: Engine, corpus: Path) -> dict[str, tuple[int, int]]:
    """Each corpus file into a scope of its own; per file name, its article id and where the stored text starts in the file."""
    for path in sorted(corpus.glob("*.txt")):
        await engine.ingest_paths([path], scope=path.name)
    located = {}
    for row in await engine.articles():
        stored = await engine.article(row.id)
        file_text = (corpus / row.origin).read_text(encoding="utf-8")
        located[row.origin] = (row.id, max(0, file_text.find(stored.text)))
    return located


async def evaluate(
    engine: Engine,
    dataset_dir: Path,
    *,
    offset: int = 0,
    limit: int | None = None,
    on_question: Callable[[int, int], None] | None = None,
    previous: Callable[[], Awaitable[Engine]] | None = None,
) -> dict:
    """Ingest the dataset's corpus (one scope per article) and score every system on its questions.

    Args:
        engine: an open engine (its store may already hold the corpus: nothing is added twice).
        dataset_dir: the dataset folder.
        offset, limit: which questions (for tuning on one part and reporting on another).
        on_question: progress callback (done, total).
        previous: opens the same store as newsdesk answered before the read stage, to measure beside it
            (called once the corpus is in; the engine it gives is closed here).

    Returns:
        A JSON-ready report: per system hit@1, hit@5, MRR@10, quote@1, abstention rate,
        query time p50/p95; the abstention quality with own articles left out; and, for a set
        that gives each question's language, newsdesk's figures per language.
    """
    located = await ingest_dataset(engine, dataset_dir / "corpus")
    before = await previous() if previous else None
    try:
        return await _measure(engine, before, dataset_dir, located, load_questions(dataset_dir, offset, limit), offset,
                              on_question)
    finally:
        if before:
            await before.close()


async def _measure(
    engine: Engine,
    previous: Engine | None,
    dataset_dir: Path,
    located: dict[str, tuple[int, int]],
    questions: list[EvalQuestion],
    offset: int,
    on_question: Callable[[int, int], None] | None,
) -> dict:
    all_scopes = list(located)
    newsdesks = {"newsdesk": engine} | ({PREVIOUS: previous} if previous else {})
    systems = {name: _SystemScore() for name in [*newsdesks, *SYSTEMS[1:]]}
    by_language: dict[str, dict[str, _SystemScore]] = {}
    left_out_abstained = {name: 0 for name in newsdesks}

    async def timed(rank: Callable[[str, int], Awaitable[list[int]]], question: str, k: int) -> tuple[list[int], float]:
        started = time.perf_counter()
        ids = await rank(question, k)
        return ids, time.perf_counter() - started

    for number, q in enumerate(questions, start=1):
        gold = gold_for(q, *located[q.doc])
        for name, asked in newsdesks.items():
            started = time.perf_counter()
            answer = await asked.ask(q.question, k=10)
            seconds = time.perf_counter() - started
            hits = [gold.passage_hit(a.article.id, a.start, a.end, a.quote) for a in answer.answers]
            top = answer.answers[0] if answer.answers else None
            quote_hit = top is not None and gold.sentence_hit(
                top.article.id, top.start + top.highlight_start, top.start + top.highlight_end, top.highlight
            )
            systems[name].add(hits, seconds, answer.abstained, quote_hit)
            if q.lang:
                language = by_language.setdefault(q.lang, {n: _SystemScore() for n in newsdesks})
                language[name].add(hits, seconds, answer.abstained, quote_hit)

        keyword_ids, keyword_seconds = await timed(engine.rank_by_keyword, q.question, RRF_DEPTH)
        dense_ids, dense_seconds = await timed(engine.rank_by_meaning, q.question, RRF_DEPTH)
        started = time.perf_counter()
        fused_ids = reciprocal_rank_fusion([keyword_ids, dense_ids])[:10]
        rrf_seconds = keyword_seconds + dense_seconds + time.perf_counter() - started
        rows = {p.id: p for p in await engine.passages(set(keyword_ids[:10] + dense_ids[:10] + fused_ids))}
        for name, ids, took in (
            ("bm25", keyword_ids[:10], keyword_seconds),
            ("dense", dense_ids[:10], dense_seconds),
            ("rrf", fused_ids, rrf_seconds),
        ):
            found = [rows[i] for i in ids]
            passage_hits = [gold.passage_hit(p.article_id, p.start, p.end, p.text) for p in found]
            rrf_quote = None
            if name == "rrf" and found:
                # RRF marks its top passage's sentence nearest the question in meaning
                top_passage = found[0]
                s_start, s_end = await engine.nearest_sentence(q.question, top_passage.id)
                sentence = top_passage.text[s_start - top_passage.start : s_end - top_passage.start]
                rrf_quote = gold.sentence_hit(top_passage.article_id, s_start, s_end, sentence)
            systems[name].add(passage_hits, took, quote_hit=rrf_quote if name == "rrf" else None)

        others = [s for s in all_scopes if s != q.doc]
        for name, asked in newsdesks.items():
            left_out_abstained[name] += (await asked.ask(q.question, scopes=others)).abstained
        if on_question:
            on_question(number, len(questions))
    n = max(1, len(questions))
    report = {
        "dataset": str(dataset_dir),
        "questions": len(questions),
        "offset": offset,
        "passages": (await engine.stats()).passages,
        "systems": {name: score.summary(n) for name, score in systems.items()},
        "abstention": {
            "left_out_abstain_rate": round(left_out_abstained["newsdesk"] / n, 4),
            "answerable_abstain_rate": round(systems["newsdesk"].abstained / n, 4),
        },
    }
    if previous:
        report["abstention_previous"] = {
            "left_out_abstain_rate": round(left_out_abstained[PREVIOUS] / n, 4),
            "answerable_abstain_rate": round(systems[PREVIOUS].abstained / n, 4),
        }
    if by_language:
        counts = {lang: sum(q.lang == lang for q in questions) for lang in by_language}
        report["languages"] = {
            lang: {name: score.summary(counts[lang]) for name, score in scores.items()}
            for lang, scores in sorted(by_language.items())
        }
    return report


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    columns = ("hit@1", "hit@5", "mrr@10", "quote@1", "abstention_rate", "query_ms_p50", "query_ms_p95")
    lines = [
        f"{report['questions']} questions over {report['passages']} passages ({report['dataset']})",
        f"{'system':10} " + " ".join(f"{c:>15}" for c in columns),
    ]
    for name, scores in report["systems"].items():
        lines.append(_row(name, scores, columns))
    for key, name in (("abstention", "newsdesk"), ("abstention_previous", PREVIOUS)):
        if key in report:
            a = report[key]
            lines.append(
                f"abstention, {name}: {a['left_out_abstain_rate']:.1%} of questions abstain with their own article "
                f"left out; {a['answerable_abstain_rate']:.1%} of answerable ones abstain"
            )
    for lang, systems in report.get("languages", {}).items():
        for name, scores in systems.items():
            lines.append(_row(f"{lang}: {name}", scores, columns))
    return "\n".join(lines)


def _row(name: str, scores: dict, columns: tuple[str, ...]) -> str:
    cells = ["-" if scores[c] is None else f"{scores[c]}" for c in columns]
    return f"{name:10} " + " ".join(f"{cell:>15}" for cell in cells)
