"""Choosing the sentence to mark inside a quoted passage, and scoring passages by their best sentence."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from .passages import Span
from .tokenization import tokenize


def word_weights(question_tokens: Sequence[str], idf: Callable[[str], float]) -> dict[str, float]:
    """Each of the question's words with its rarity: what `keyword_coverage` weighs, computed once a question."""
    return {token: idf(token) for token in set(question_tokens)}


def keyword_coverage(weights: Mapping[str, float], text: str) -> float:
    """Share of the question's informative words (weighted by rarity, see `word_weights`) that text contains."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(weights[t] for t in weights.keys() & set(tokenize(text))) / total


def best_sentence_coverage(weights: Mapping[str, float], text: str, sentences: Sequence[Span]) -> float:
    """The highest `keyword_coverage` of any one sentence (spans into text); 0 without sentences."""
    return max((keyword_coverage(weights, text[s:e]) for s, e in sentences), default=0.0)


def best_sentence(
    sentences: Sequence[Span],
    sentence_vectors: np.ndarray,
    question_vector: np.ndarray,
    weights: Mapping[str, float],
    text: str,
    dense_weight: float,
) -> Span:
    """The sentence that best answers the question: meaning and shared words, mixed.

    Args:
        sentences: spans of the passage's sentences in text.
        sentence_vectors: their embeddings, row per sentence.
        question_vector: the question's embedding.
        weights: the question's keyword tokens with their rarity (`word_weights`).
        text: the article text the spans index.
        dense_weight: weight of cosine similarity against keyword coverage.

    Returns:
        The chosen sentence's span.
    """
    dense = sentence_vectors @ question_vector
    scores = [
        dense_weight * float(d) + (1 - dense_weight) * keyword_coverage(weights, text[s:e])
        for d, (s, e) in zip(dense, sentences)
    ]
    return sentences[int(np.argmax(scores))]
