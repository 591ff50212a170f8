"""Rewrite an eval set in the shape of wire copy: one sentence a line, for `newsdesk eval`.

    python bench/wire_shape.py ../shared/eval/onestopqa-news /tmp/wire/onestopqa-news
    newsdesk --data-dir /tmp/wire-store eval /tmp/wire/onestopqa-news --json --offset 243 --limit 243

Agency copy (the seed among it) gives each sentence a paragraph of its own, while the
eval sets' paragraphs hold several: this measures what that shape does to answers and
abstention. Each space between two sentences of a paragraph becomes a line break, so
every character keeps its offset and the set's gold spans and answer offsets still hold;
titles and blank lines stay. `questions.jsonl` is linked, not copied, and the output
belongs outside the project (eval data is never copied into it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsdesk.index.ingest.passages import paragraph_spans, sentence_spans  # noqa: E402


def one_sentence_a_line(text: str) -> str:
    """text with the single space between consecutive sentences of each paragraph (the title excepted) made a newline."""
    chars = list(text)
    title_end = text.find("\n")
    for p_start, p_end in paragraph_spans(text):
        if p_start <= title_end:
            continue
        sentences = sentence_spans(text, p_start, p_end)
        for (_, end), (next_start, _) in zip(sentences, sentences[1:]):
            if next_start - end == 1 and text[end] == " ":
                chars[end] = "\n"
    return "".join(chars)


def reshape_corpus(corpus: Path, target: Path) -> None:
    """Every article of corpus (`*.txt`) into target, one sentence a line."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(corpus.glob("*.txt")):
        (target / path.name).write_text(one_sentence_a_line(path.read_text(encoding="utf-8")), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="an eval set folder (corpus/ and questions.jsonl)")
    parser.add_argument("target", type=Path, help="where to write the reshaped set")
    args = parser.parse_args()
    reshape_corpus(args.source / "corpus", args.target / "corpus")
    questions = args.target / "questions.jsonl"
    if not questions.exists():
        questions.symlink_to((args.source / "questions.jsonl").resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
