"""Passages, paragraphs and sentences as exact spans of the article text."""

import textwrap

from newsdesk.index.ingest.passages import paragraph_spans, passage_spans, sentence_spans

from tests.support.engines import SEED_ARTICLE

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


def test_short_paragraphs_join_each_other_but_not_a_longer_one():
    longer = "A longer paragraph follows the two short ones and says a good deal more. " * 2
    text = "Talks resume.\n\nBoth sides agree.\n\n" + longer
    passages = [text[s:e] for s, e in passage_spans(text, max_chars=300, min_chars=40)]
    assert passages == ["Talks resume.\n\nBoth sides agree.", longer.strip()]
    lead = ARTICLE[slice(*passage_spans(ARTICLE, max_chars=300, min_chars=40)[0])]
    assert lead == "Short lead."


def test_a_passage_never_spans_two_paragraphs_of_the_seed():
    """The seed: one paragraph a line, no blank lines, no final newline."""
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    lines = text.split("\n")
    paragraphs = [text[s:e] for s, e in paragraph_spans(text)]
    assert paragraphs == lines and len(lines) == 23
    for start, end in passage_spans(text):
        assert "\n" not in text[start:end]
    answer = "Moscow, which sees proposed missile-defence sites in Poland and the Czech Republic as a threat to its security"
    assert [text[s:e] for s, e in passage_spans(text) if answer in text[s:e]] == [lines[17]]


def test_each_line_of_a_block_is_a_paragraph_unless_the_block_is_hard_wrapped():
    one_a_line = "MOSCOW (Reuters) - The talks resumed on Monday.\nBoth sides said they were close to a deal.\nReuters"
    assert [one_a_line[s:e] for s, e in paragraph_spans(one_a_line)] == one_a_line.split("\n")
    first = "The two presidents met in Moscow on Monday and agreed the outline of a treaty cutting nuclear weapons."
    second = "Negotiators will now draft the treaty itself, which both sides hope to sign before the old pact expires."
    wrapped = "Leaders agree arms outline\n" + textwrap.fill(first, 72) + "\n\n" + textwrap.fill(second, 72)
    assert wrapped.count("\n") > 4
    paragraphs = [wrapped[s:e] for s, e in paragraph_spans(wrapped)]
    assert paragraphs == ["Leaders agree arms outline", textwrap.fill(first, 72), textwrap.fill(second, 72)]


def test_paragraphs_are_trimmed_exact_spans_whatever_the_line_endings():
    text = "a\n\n b \n  \nc\r\n\r\n  d\t\r\n"
    spans = paragraph_spans(text)
    assert [text[s:e] for s, e in spans] == ["a", "b", "c", "d"]


def test_sentence_spans_cover_each_sentence_verbatim():
    text = "Mr. Smith went to Washington. He said: \"It is fine.\" Then he left!"
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == ["Mr. Smith went to Washington.", "He said: \"It is fine.\"", "Then he left!"]
