"""Splitting article text into passages and sentences, as character spans.

Spans always index the stored article text, so a quote is `text[start:end]` and can
never differ from what was stored.
"""

from __future__ import annotations

import re
from functools import lru_cache

Span = tuple[int, int]

_BLOCK_BREAK = re.compile(r"\n[ \t]*\n")


def block_spans(text: str) -> list[Span]:
    """Spans of the paragraphs: non-blank blocks separated by blank lines, trimmed."""
    spans: list[Span] = []
    cursor = 0
    for brk in [*_BLOCK_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        chunk = text[cursor:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((cursor + lead, cursor + len(chunk.rstrip())))
        cursor = brk.end() if brk else len(text)
    return spans


def _trim(text: str, start: int, end: int) -> Span:
    """Shrink a span so it neither starts nor ends with white space."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@lru_cache(maxsize=1)
def _segmenter():
    # sentencex is imported lazily: the CLI's non-ingest commands never split text.
    from sentencex import segment

    return segment


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans inside text[start:end].

    Args:
        text: the whole article text.
        start, end: the region to split (default: all of it).

    Returns:
        Trimmed, non-empty, ordered spans covering the region's sentences.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for piece in _segmenter()("en", text[start:end]):
        # sentencex returns consecutive pieces of its input; locate each one anyway so a
        # change in that habit can never shift an offset.
        found = text.find(piece, cursor, end)
        if found < 0:
            continue
        cursor = found + len(piece)
        span = _trim(text, found, cursor)
        if span[0] < span[1]:
            spans.append(span)
    return spans


def _pack(text: str, sentences: list[Span], max_chars: int) -> list[Span]:
    """Group consecutive sentences into spans of at most max_chars (a longer sentence stands alone)."""
    packed: list[Span] = []
    for s_start, s_end in sentences:
        if packed and s_end - packed[-1][0] <= max_chars:
            packed[-1] = (packed[-1][0], s_end)
        else:
            packed.append((s_start, s_end))
    return packed


def passage_spans(text: str, max_chars: int = 700, min_chars: int = 120) -> list[Span]:
    """Split an article into passages: paragraphs, long ones cut at sentence ends.

    Args:
        text: the article text.
        max_chars: paragraphs longer than this are split between sentences.
        min_chars: a paragraph shorter than this is joined to the next one, so that a
            one-line paragraph keeps its context, as long as the pair fits max_chars.

    Returns:
        Ordered, non-overlapping spans into text.
    """
    pieces: list[Span] = []
    for p_start, p_end in block_spans(text):
        if p_end - p_start <= max_chars:
            pieces.append((p_start, p_end))
        else:
            pieces.extend(_pack(text, sentence_spans(text, p_start, p_end), max_chars))
    merged: list[Span] = []
    for span in pieces:
        previous = merged[-1] if merged else None
        if previous and previous[1] - previous[0] < min_chars and span[1] - previous[0] <= max_chars:
            merged[-1] = (previous[0], span[1])
        else:
            merged.append(span)
    return merged
