"""What the engine returns: one article type, and answers made only of quotes from stored articles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dates import DateRange


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
    # When abstaining: the articles nearest the question, to suggest instead,
    closest: list[Article] = field(default_factory=list)
    # and the names the question gives ("Japan") that no article among its candidates mentions.
    unnamed: list[str] = field(default_factory=list)
    # The question asked for the newest reports ("latest", "today"): newer articles ranked first,
    # and their dates worth showing prominently.
    recent: bool = False
    # The days the quotes were limited to (`since`/`until`, or days the question named), if any.
    period: DateRange | None = None
    # The question named days (say "today") and nothing from them answers: the quotes are from any date.
    period_missed: bool = False

    def describe_unnamed(self) -> str:
        """For a reply: 'None of the articles nearest the question says "Japan".' ('"X" or "Y"' for two names)."""
        quoted = [f'"{name}"' for name in self.unnamed]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
        return f"None of the articles nearest the question says {listed}."

    def to_json(self) -> dict:
        """The `--json` schema: question, abstained, elapsed_ms, answers[...]; and, for questions limited to
        days, period {since, until, missed} (missed: none of those days answers, the quotes are from any date);
        for an abstention whose question names what no candidate's article mentions, unnamed [names]."""
        dated = {}
        if self.period is not None:
            since, until = (d.isoformat() if d else None for d in (self.period.since, self.period.until))
            dated = {"period": {"since": since, "until": until, "missed": self.period_missed}}
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
            **dated,
            **({"unnamed": self.unnamed} if self.unnamed else {}),
        }


@dataclass(frozen=True)
class Follow:
    """A standing question: each article added later that answers `topic` is delivered to `target` once.

    `owner` and `target` are the application's keys (the bot: a server and a channel); `scopes` are
    what the follow may see, as a question asked there would.
    """

    id: int
    owner: str
    scopes: tuple[str, ...]
    topic: str
    target: str
    created_at: float


@dataclass(frozen=True)
class Stats:
    articles: int
    passages: int
    index_vectors: int
    index_bytes: int
    model: str
    last_added: Article | None
    # the storage backend in a few words (`Store.describe`): which database serves these figures
    storage: str = ""


@dataclass(frozen=True)
class IndexStats:
    """The dense index as it is now: its kind, vector size, inverted lists (0: none) and passage ids."""

    kind: str
    dim: int
    lists: int
    ids: np.ndarray
