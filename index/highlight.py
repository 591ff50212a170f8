"""Choosing the sentence to mark inside a quoted passage."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .passages import Span
from .tokenization import tokenize


def keyword_coverage(question_tokens: Sequence[str], text: str, idf: Callable[[str], float]) -> float:
    """Share of the question's informative words (weighted by idf) that text contains."""
    wanted = set(question_tokens)
    total = sum(idf(t) for t in wanted)
    if total <= 0:
        return 0.0
    present = wanted.intersection(tokenize(text))
    return sum(idf(t) for t in present) / total


def best_sentence_coverage(
    question_tokens: Sequence[str], text: str, sentences: Sequence[Span], idf: Callable[[str], float]
) -> float:
    """The highest `keyword_coverage` of any one sentence (spans into text); 0 without sentences."""
    return max((keyword_coverage(question_tokens, text[s:e], idf) for s, e in sentences), default=0.0)


def best_sentence(
    sentences: Sequence[Span],
    sentence_vectors: np.ndarray,
    question_vector: np.ndarray,
    question_tokens: Sequence[str],
    text: str,
    idf: Callable[[str], float],
    dense_weight: float,
) -> Span:
    """The sentence that best answers the question: meaning and shared words, mixed.

    Args:
        sentences: spans of the passage's sentences in text.
        sentence_vectors: their embeddings, row per sentence.
        question_vector: the question's embedding.
        question_tokens: the question's keyword tokens.
        text: the article text the spans index.
        idf: word rarity, from the keyword index.
        dense_weight: weight of cosine similarity against keyword coverage.

    Returns:
        The chosen sentence's span.
    """
    dense = sentence_vectors @ question_vector
    scores = [
        dense_weight * float(d) + (1 - dense_weight) * keyword_coverage(question_tokens, text[s:e], idf)
        for d, (s, e) in zip(dense, sentences)
    ]
    return sentences[int(np.argmax(scores))]
