"""Measuring answer quality on a question set laid out like ../shared/eval/squad-v1.1-dev.

DATASET_DIR/corpus/*.txt holds the articles (title line, blank line, body) and
DATASET_DIR/questions.jsonl the questions (`question`, `answers`, `doc`, optional
`answer_start` into the body, `para`). Each article is ingested into a scope of its
own, so "the same question with its own article left out" is a scope filter, not a
second index.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import numpy as np

from .engine import Engine
from .store import PassageRow


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    answers: list[str]
    doc: str
    answer_start: int | None


def load_questions(dataset_dir: Path, offset: int = 0, limit: int | None = None) -> list[EvalQuestion]:
    """Questions from questions.jsonl, lines [offset, offset + limit)."""
    questions = []
    with open(dataset_dir / "questions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            questions.append(
                EvalQuestion(record["question"], record["answers"], record["doc"], record.get("answer_start"))
            )
    end = None if limit is None else offset + limit
    return questions[offset:end]


def _is_hit(passage: PassageRow, article_id: int, question: EvalQuestion) -> bool:
    """A passage of the question's own article holding a gold answer (the annotated occurrence if known)."""
    if passage.article_id != article_id:
        return False
    if question.answer_start is not None:
        start, end = question.answer_start, question.answer_start + len(question.answers[0])
        return passage.start <= start and end <= passage.end
    return any(gold in passage.text for gold in question.answers)


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


async def evaluate(
    engine: Engine,
    dataset_dir: Path,
    *,
    offset: int = 0,
    limit: int | None = None,
    on_question: Callable[[int, int], None] | None = None,
) -> dict:
    """Ingest the dataset's corpus (one scope per article) and score every system on its questions.

    Args:
        engine: an open engine (its store may already hold the corpus: nothing is added twice).
        dataset_dir: the dataset folder.
        offset, limit: which questions (for tuning on one part and reporting on another).
        on_question: progress callback (done, total).

    Returns:
        A JSON-ready report: per system hit@1, hit@5, MRR@10, quote@1, abstention rate,
        query time p50/p95; and the abstention quality with own articles left out.
    """
    corpus = dataset_dir / "corpus"
    for path in sorted(corpus.glob("*.txt")):
        await engine.ingest_paths([path], scope=path.name)
    article_of = {row.origin: row.id for row in await engine.articles()}
    all_scopes = list(article_of)
    questions = load_questions(dataset_dir, offset, limit)
    systems = {name: _SystemScore() for name in ("newsdesk", "bm25", "dense")}
    left_out_abstained = 0

    async def ranked(rank: Callable[[str, int], Awaitable[list[int]]], question: str) -> tuple[list[PassageRow], float]:
        started = time.perf_counter()
        ids = await rank(question, 10)
        seconds = time.perf_counter() - started
        rows = {p.id: p for p in await engine.passages(ids)}
        return [rows[i] for i in ids], seconds

    for number, q in enumerate(questions, start=1):
        own = article_of[q.doc]
        started = time.perf_counter()
        answer = await engine.ask(q.question, k=10)
        seconds = time.perf_counter() - started
        hits = [
            _is_hit(PassageRow(0, quote.article.id, quote.start, quote.end, quote.quote, q.doc), own, q)
            for quote in answer.answers
        ]
        quote_hit = bool(answer.answers) and any(gold in answer.answers[0].highlight for gold in q.answers)
        systems["newsdesk"].add(hits, seconds, answer.abstained, quote_hit)
        for name, rank in (("bm25", engine.rank_keyword), ("dense", engine.rank_dense)):
            rows, seconds = await ranked(rank, q.question)
            systems[name].add([_is_hit(p, own, q) for p in rows], seconds)
        others = [s for s in all_scopes if s != q.doc]
        left_out_abstained += (await engine.ask(q.question, scopes=others)).abstained
        if on_question:
            on_question(number, len(questions))
    n = max(1, len(questions))
    return {
        "dataset": str(dataset_dir),
        "questions": len(questions),
        "offset": offset,
        "passages": (await engine.stats()).passages,
        "systems": {name: score.summary(n) for name, score in systems.items()},
        "abstention": {
            "left_out_abstain_rate": round(left_out_abstained / n, 4),
            "answerable_abstain_rate": round(systems["newsdesk"].abstained / n, 4),
        },
    }


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    columns = ("hit@1", "hit@5", "mrr@10", "quote@1", "abstention_rate", "query_ms_p50", "query_ms_p95")
    lines = [
        f"{report['questions']} questions over {report['passages']} passages ({report['dataset']})",
        f"{'system':10} " + " ".join(f"{c:>15}" for c in columns),
    ]
    for name, scores in report["systems"].items():
        cells = ["-" if scores[c] is None else f"{scores[c]}" for c in columns]
        lines.append(f"{name:10} " + " ".join(f"{cell:>15}" for cell in cells))
    a = report["abstention"]
    lines.append(
        f"abstention: {a['left_out_abstain_rate']:.1%} of questions abstain with their own article left out; "
        f"{a['answerable_abstain_rate']:.1%} of answerable ones abstain"
    )
    return "\n".join(lines)
