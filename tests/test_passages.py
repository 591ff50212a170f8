"""Passages and sentences as exact spans of the article text."""

from index.passages import block_spans, passage_spans, sentence_spans

ARTICLE = (
    "Short lead.\n\n"
    "Second paragraph is of a moderate length and says one thing only, plainly enough for a reader.\n\n"
    + " ".join(f"Sentence number {i} of a very long paragraph goes on for a while." for i in range(30))
    + "\n\n  Indented last paragraph.  \n"
)


def test_passages_are_exact_spans_within_the_size_limit():
    spans = passage_spans(ARTICLE, max_chars=300, min_chars=40)
    for start, end in spans:
        piece = ARTICLE[start:end]
        assert piece == piece.strip() and piece
        assert end - start <= 300
    # ordered and non-overlapping
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_long_paragraph_is_cut_between_sentences():
    spans = passage_spans(ARTICLE, max_chars=300, min_chars=40)
    long_pieces = [ARTICLE[s:e] for s, e in spans if ARTICLE[s:e].startswith("Sentence number")]
    assert len(long_pieces) > 5
    assert all(piece.endswith("while.") for piece in long_pieces)
    assert " ".join(long_pieces) in ARTICLE


def test_short_paragraph_joins_the_next_one():
    first = ARTICLE[slice(*passage_spans(ARTICLE, max_chars=300, min_chars=40)[0])]
    assert first.startswith("Short lead.\n\nSecond paragraph")


def test_sentence_spans_cover_each_sentence_verbatim():
    text = "Mr. Smith went to Washington. He said: \"It is fine.\" Then he left!"
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == ["Mr. Smith went to Washington.", "He said: \"It is fine.\"", "Then he left!"]


def test_blocks_are_trimmed_paragraphs():
    text = "a\n\n b \n  \nc"
    assert [text[s:e] for s, e in block_spans(text)] == ["a", "b", "c"]
