"""The keyword index: BM25 (bm25s) over passage texts, rebuilt from the database."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import bm25s
import numpy as np

from ..tokenization import tokenize

# bm25s sets its own logger to DEBUG, which would print every index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# bm25s' defaults (Lucene's BM25), restated because `Bm25Statistics` scores with them.
K1, B = 1.5, 0.75
STATISTICS_FILE = "statistics.json"


@dataclass(frozen=True)
class Bm25Statistics:
    """What Lucene's BM25 needs besides a passage's own words: the passages counted, each
    word's document frequency, and the average passage length (in tokens).

    Both storage backends score with it: the embedded one from its bm25s index, PostgreSQL
    from the counts it keeps beside the passages, so the keyword evidence means the same."""

    passages: int
    doc_freq: Mapping[str, int]
    average_length: float

    def idf(self, token: str) -> float:
        """Lucene's idf; a word no passage contains gets the highest idf there is."""
        n, df = self.passages, self.doc_freq.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def ideal_score(self, tokens: Sequence[str]) -> float:
        """The BM25 score of an average-length passage holding each query word once.

        Dividing by it puts BM25 on an absolute scale comparable across questions (about
        0..1: repeated words can pass 1): the share of the question's informative words,
        weighted by rarity, that a passage contains.
        """
        return sum(self.idf(t) for t in set(tokens)) / (K1 + 1)

    def score_text(self, tokens: Sequence[str], text: str) -> float:
        """The BM25 score of a passage's text for the query tokens (as bm25s scores an indexed one)."""
        counts = Counter(tokenize(text))
        length_norm = K1 * (1 - B + B * sum(counts.values()) / (self.average_length or 1.0))
        return sum(self.idf(t) * counts[t] / (counts[t] + length_norm) for t in tokens if counts[t])


class KeywordIndex:
    """BM25 scores for passages; built once over a snapshot of the passages."""

    def __init__(self, passage_ids: np.ndarray, bm25: bm25s.BM25, doc_freq: dict[str, int], average_length: float):
        self.ids = np.asarray(passage_ids, dtype=np.int64)  # ascending: rows are found by bisection
        self._bm25 = bm25
        self.statistics = Bm25Statistics(len(self.ids), doc_freq, average_length or 1.0)

    @classmethod
    def build(cls, passage_ids: Sequence[int], texts: Sequence[str]) -> "KeywordIndex":
        """Tokenize and index the passages (about 12 s per 100k passages here)."""
        order = np.argsort(np.asarray(passage_ids, dtype=np.int64), kind="stable")
        passage_ids = np.asarray(passage_ids, dtype=np.int64)[order]
        bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
        token_lists = [tokenize(texts[i]) for i in order]
        if token_lists:
            bm25.index(token_lists, show_progress=False)
        doc_freq = dict(Counter(token for tokens in token_lists for token in set(tokens)))
        average_length = sum(map(len, token_lists)) / len(token_lists) if token_lists else 1.0
        return cls(passage_ids, bm25, doc_freq, average_length)

    def save(self, folder: Path, generation: int) -> None:
        """Write to folder with the store's write generation it was built at, replacing what was
        there; a crash leaves no folder or a whole one."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self._bm25.save(str(tmp), show_progress=False)
        np.save(tmp / "passage_ids.npy", self.ids)
        statistics = {
            "doc_freq": dict(self.statistics.doc_freq),
            "average_length": self.statistics.average_length,
            "generation": generation,
        }
        (tmp / STATISTICS_FILE).write_text(json.dumps(statistics), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)

    @classmethod
    def load(cls, folder: Path, passage_ids: np.ndarray, generation: int) -> "KeywordIndex | None":
        """The index saved in folder if it was built at this write generation over exactly these passages, else None."""
        try:
            ids = np.load(folder / "passage_ids.npy")
            statistics = json.loads((folder / STATISTICS_FILE).read_text(encoding="utf-8"))
            if statistics.get("generation") != generation or not np.array_equal(ids, passage_ids):
                return None
            bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
            return cls(ids, bm25, statistics["doc_freq"], statistics["average_length"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, passage_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The passages' rows in the index, and whether the index holds each (else its row is meaningless)."""
        if not len(self.ids):
            return np.zeros(len(passage_ids), dtype=np.int64), np.zeros(len(passage_ids), dtype=bool)
        rows = np.minimum(np.searchsorted(self.ids, passage_ids), len(self.ids) - 1)
        return rows, self.ids[rows] == passage_ids

    def mask_for(self, allowed_ids: np.ndarray) -> np.ndarray:
        """A 0/1 weight per indexed passage: 1 where the passage may be returned."""
        return np.isin(self.ids, allowed_ids).astype(np.float32)

    def scores(self, tokens: Sequence[str], mask: np.ndarray | None = None) -> "KeywordScores":
        """BM25 scores of every passage for the query tokens (masked ones score 0)."""
        if not len(self) or not tokens:
            return KeywordScores(self, tokens, np.zeros(len(self), dtype=np.float32))
        return KeywordScores(self, tokens, self._bm25.get_scores(list(tokens), weight_mask=mask))


class KeywordScores:
    """One query's BM25 scores over the whole index (a `search.KeywordHits`)."""

    def __init__(self, index: KeywordIndex, tokens: Sequence[str], scores: np.ndarray):
        self._index = index
        self._tokens = tokens
        self._scores = scores
        self.statistics = index.statistics

    def of(self, passage_ids: Sequence[int], texts: Sequence[str]) -> list[float]:
        """Passages' scores; one the index does not hold (added since it was built) is scored from its text."""
        rows, held = self._index.rows_of(np.asarray(passage_ids, dtype=np.int64))
        return [
            float(self._scores[row]) if is_held else self.statistics.score_text(self._tokens, text)
            for row, is_held, text in zip(rows.tolist(), held.tolist(), texts)
        ]

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k best (passage id, score) pairs with a positive score, best first."""
        # Most passages share no word with the question: rank only those that do
        # (a million scores: ~4 ms to partition them all, well under 1 ms this way).
        rows = np.flatnonzero(self._scores > 0)
        k = min(k, len(rows))
        if k <= 0:
            return []
        rows = rows[np.argpartition(-self._scores[rows], k - 1)[:k]]
        rows = rows[np.argsort(-self._scores[rows], kind="stable")]
        return [(int(self._index.ids[r]), float(self._scores[r])) for r in rows]
