"""Copying a store to another storage backend (`newsdesk migrate`), either way.

Articles keep their ids (settings kept with the data, such as a folder's articles, name
them), with their passages, sentences and embeddings: nothing is embedded again. The
settings kept with the data go along; the backend's own bookkeeping does not. The target
must be empty, and the counts are checked at the end. Follows, feeds and feedback stay
behind (not copied yet).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .writer import content_hash
from ..settings import StorageSettings
from ..store import NewArticle, NewPassage, NewSentence, PassageRow, Store
from ..types import Article


class MigrationError(Exception):
    """The copy could not be made, or does not match its source."""


@dataclass(frozen=True)
class MigrationReport:
    articles: int
    passages: int
    vectors: int


def target_storage(source: StorageSettings, to: str) -> tuple[StorageSettings, str | None]:
    """The store `--to` names, and its database URL if given there (else the environment's).

    `to` is `postgres` (the database in NEWSDESK_DATABASE_URL), a `postgresql://` URL, or
    `sqlite:FOLDER`.

    Raises:
        ValueError: `to` is none of those, or names the source itself.
    """
    if to == "postgres" or to.startswith(("postgresql://", "postgres://")):
        target, url = replace(source, backend="postgres"), None if to == "postgres" else to
    elif to.startswith("sqlite:") and to[len("sqlite:") :]:
        target, url = replace(source, backend="sqlite", data_dir=Path(to[len("sqlite:") :]).expanduser().resolve()), None
    else:
        raise ValueError("--to takes postgres (the database in NEWSDESK_DATABASE_URL), a postgresql:// URL, or sqlite:FOLDER")
    if target.backend == source.backend and (url is None if target.backend == "postgres" else target.data_dir == source.data_dir.resolve()):
        raise ValueError("the target is the store being copied")
    return target, url


async def copy_store(
    source: Store, target: Store, model: str, batch: int = 200, on_batch: Callable[[int, int], None] | None = None
) -> MigrationReport:
    """Copy every article of source, with its passages, sentences and vectors under model, into an empty target.

    Raises:
        MigrationError: the target already holds articles, a passage has no vector, or the counts differ.
    """
    if (await target.counts())[0]:
        raise MigrationError("the target store already holds articles; migrate into an empty one")
    articles = sorted(await source.articles(), key=lambda a: a.id)
    by_article: dict[int, list[PassageRow]] = {}
    for row in await source.passages():  # in id order, which is each article's passage order
        by_article.setdefault(row.article_id, []).append(row)
    vectors_copied = 0
    for start in range(0, len(articles), batch):
        chunk = articles[start : start + batch]
        drafts, vectors = await _drafts(source, chunk, by_article, model)
        stored = await target.add_articles(drafts, model, vectors)
        if any(result is None for result in stored):
            raise MigrationError("the source holds the same article twice in one scope")
        vectors_copied += len(vectors)
        if on_batch:
            on_batch(start + len(chunk), len(articles))
    for key, value in (await source.portable_meta()).items():
        await target.set_meta(key, value)
    counts = await source.counts(), await target.counts()
    if counts[0] != counts[1]:
        raise MigrationError(f"copied {counts[1][0]} articles and {counts[1][1]} passages of {counts[0][0]} and {counts[0][1]}")
    return MigrationReport(*counts[1], vectors_copied)


async def _drafts(
    source: Store, articles: list[Article], by_article: dict[int, list[PassageRow]], model: str
) -> tuple[list[NewArticle], dict[str, np.ndarray]]:
    """The articles as the target stores them (ids kept), and their texts' vectors by hash."""
    passage_ids = [p.id for a in articles for p in by_article.get(a.id, [])]
    passage_vectors: dict[int, np.ndarray] = {}
    async for ids, matrix in source.passage_vectors(model, passage_ids):
        passage_vectors.update(zip(ids.tolist(), matrix))
    sentences = await source.sentence_vectors(passage_ids, model)
    drafts, vectors = [], {}
    for article in articles:
        text = (await source.article(article.id)).text
        passages = []
        for ordinal, row in enumerate(by_article.get(article.id, [])):
            found = sentences.get(row.id)
            spans = found.spans if found else []
            for (s_start, s_end), vector in zip(spans, found.vectors if found else []):
                vectors[content_hash(text[s_start:s_end])] = vector
            vectors[content_hash(row.text)] = passage_vectors[row.id]
            passages.append(
                NewPassage(
                    ordinal, row.start, row.end, content_hash(row.text),
                    tuple(NewSentence(s, e, content_hash(text[s:e])) for s, e in spans), id=row.id,
                )
            )
        drafts.append(
            NewArticle(
                article.scope, content_hash(text), article.title, text, article.origin, article.source, article.date,
                article.url, tuple(passages), id=article.id, added_at=article.added_at,
            )
        )
    return drafts, vectors
