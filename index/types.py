"""What the engine returns: one article type, and answers made only of quotes from stored articles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Article:
    """A stored article's metadata, as answers, look-ups and listings report it."""

    id: int
    scope: str
    title: str
    source: str | None
    date: str | None
    url: str | None
    origin: str
    added_at: float
    passages: int = 0

    def to_json(self) -> dict:
        """The `--json` schema's article: id, title, source, date, url, origin."""
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "url": self.url,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class ArticleText:
    """One article with its full stored text."""

    article: Article
    text: str


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
    article: Article


@dataclass(frozen=True)
class Answer:
    question: str
    abstained: bool
    elapsed_ms: float
    answers: list[Quote] = field(default_factory=list)
    # When abstaining: the articles nearest the question, to suggest instead.
    closest: list[Article] = field(default_factory=list)

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
                    "article": q.article.to_json(),
                }
                for q in self.answers
            ],
        }


@dataclass(frozen=True)
class Stats:
    articles: int
    passages: int
    index_vectors: int
    index_bytes: int
    model: str
    last_added: Article | None


@dataclass(frozen=True)
class IndexStats:
    """The dense index as it is now: its kind, vector size, inverted lists (0: none) and passage ids."""

    kind: str
    dim: int
    lists: int
    ids: np.ndarray
