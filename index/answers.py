"""What the engine returns: answers made only of quotes from stored articles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ArticleInfo:
    id: int
    title: str
    source: str | None
    date: str | None
    url: str | None
    origin: str


@dataclass(frozen=True)
class Quote:
    """A passage quoted verbatim: `quote == article text[start:end]`.

    `highlight` is its key sentence, `quote[highlight_start:highlight_end]`.
    """

    quote: str
    highlight: str
    highlight_start: int
    highlight_end: int
    score: float
    start: int
    end: int
    article: ArticleInfo


@dataclass(frozen=True)
class Answer:
    question: str
    abstained: bool
    elapsed_ms: float
    answers: list[Quote] = field(default_factory=list)
    # When abstaining: the articles nearest the question, to suggest instead.
    closest: list[ArticleInfo] = field(default_factory=list)

    def to_json(self) -> dict:
        """The `--json` schema: question, abstained, elapsed_ms, answers[...]."""
        return {
            "question": self.question,
            "abstained": self.abstained,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "answers": [
                {
                    "quote": q.quote,
                    "highlight": q.highlight,
                    "score": round(q.score, 4),
                    "start": q.start,
                    "end": q.end,
                    "article": asdict(q.article),
                }
                for q in self.answers
            ],
        }
