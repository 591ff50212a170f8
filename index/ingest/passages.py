"""Splitting article text into passages and sentences, as character spans.

Spans always index the stored article text, so a quote is `text[start:end]` and can
never differ from what was stored.
"""

from __future__ import annotations

import re
from functools import lru_cache

Span = tuple[int, int]

# A blank line: two line breaks with nothing but white space (a CR, tabs) between them.
_BLOCK_BREAK = re.compile(r"\n[^\S\n]*\n")
# Hard-wrapped text (typically at 72-80 columns) has no line longer than this.
_WRAPPED_LINE_MAX_CHARS = 100
# How close to the block's longest line a wrapped line comes once the next word is added:
# greedy wrappers fill each line to the width; this leaves room for wrappers that balance
# line lengths instead.
_WRAPPED_LINE_FILL = 0.9
# The end of a sentence: its punctuation, then perhaps closing quotes or brackets.
SENTENCE_END = re.compile(r"[.!?][\"'\u2019\u201d)\]]*$")


def _block_spans(text: str) -> list[Span]:
    """Spans of the non-blank blocks separated by blank lines, trimmed."""
    spans: list[Span] = []
    cursor = 0
    for brk in [*_BLOCK_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        span = _trim(text, cursor, end)
        if span[0] < span[1]:
            spans.append(span)
        cursor = brk.end() if brk else len(text)
    return spans


def _line_spans(text: str, start: int, end: int) -> list[Span]:
    """Spans of the non-blank lines of text[start:end], trimmed."""
    spans: list[Span] = []
    cursor = start
    while cursor < end:
        line_end = text.find("\n", cursor, end)
        line_end = end if line_end < 0 else line_end
        span = _trim(text, cursor, line_end)
        if span[0] < span[1]:
            spans.append(span)
        cursor = line_end + 1
    return spans


def _looks_hard_wrapped(lines: list[str]) -> bool:
    """Whether a block's lines were wrapped at a fixed width, not written one paragraph each.

    Wrapped lines are all short and most of them stop mid-sentence; paragraphs copied
    from a web page are long lines that end their sentences.
    """
    if len(lines) < 2 or max(map(len, lines)) > _WRAPPED_LINE_MAX_CHARS:
        return False
    inner = lines[:-1]
    return 2 * sum(not SENTENCE_END.search(line) for line in inner) > len(inner)


def _wrapped_paragraphs(lines: list[Span], texts: list[str]) -> list[Span]:
    """The paragraphs of a hard-wrapped block: a line ends one unless it is full.

    A line is full when the next line's first word would not have fitted on it; a
    headline or byline above a paragraph, and a paragraph's last line, are not.
    """
    width = max(map(len, texts))
    paragraphs: list[Span] = []
    start = lines[0][0]
    for number, (line, following) in enumerate(zip(texts, texts[1:])):
        if len(line) + 1 + len(following.split(None, 1)[0]) <= _WRAPPED_LINE_FILL * width:
            paragraphs.append((start, lines[number][1]))
            start = lines[number + 1][0]
    paragraphs.append((start, lines[-1][1]))
    return paragraphs


def paragraph_spans(text: str) -> list[Span]:
    """Spans of the paragraphs, trimmed: the one rule for what a paragraph is.

    Blocks separated by blank lines are paragraphs, and inside a block each line is a
    paragraph of its own (news copied from a web page has one paragraph per line), unless
    the block is hard-wrapped: then its lines are joined into paragraphs.
    """
    spans: list[Span] = []
    for b_start, b_end in _block_spans(text):
        lines = _line_spans(text, b_start, b_end)
        texts = [text[start:end] for start, end in lines]
        spans.extend(_wrapped_paragraphs(lines, texts) if _looks_hard_wrapped(texts) else lines)
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

    A passage never spans two paragraphs unless both are short, so that a quote never
    glues unrelated paragraphs together.

    Args:
        text: the article text.
        max_chars: paragraphs longer than this are split between sentences.
        min_chars: consecutive paragraphs shorter than this are joined while the passage
            they make stays shorter than this too, so that one-line paragraphs keep some
            context; a short paragraph next to a longer one stands alone.

    Returns:
        Ordered, non-overlapping spans into text.
    """
    passages: list[Span] = []
    joinable = False  # whether the last passage is made of short paragraphs only
    for p_start, p_end in paragraph_spans(text):
        short = p_end - p_start < min_chars
        previous = passages[-1] if passages else None
        if short and joinable and previous[1] - previous[0] < min_chars and p_end - previous[0] <= max_chars:
            passages[-1] = (previous[0], p_end)
        elif p_end - p_start <= max_chars:
            passages.append((p_start, p_end))
        else:
            passages.extend(_pack(text, sentence_spans(text, p_start, p_end), max_chars))
        joinable = short
    return passages
