"""bench/wire_shape.py: an eval set's text one sentence a line, with every offset kept."""

import importlib.util
import json
from pathlib import Path

import pytest

from newsdesk.index.ingest.passages import passage_spans

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "wire_shape.py"
ARTICLE = (
    "Harbour bridge reopens\n\n"
    "The harbour bridge reopened on Monday. The first buses crossed it at dawn. Crowds cheered.\n\n"
    "Engineers repainted the towers green. The work took two years.\n"
)


@pytest.fixture(scope="module")
def wire_shape():
    spec = importlib.util.spec_from_file_location("wire_shape", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_sentence_gets_a_line_and_every_character_keeps_its_offset(wire_shape):
    reshaped = wire_shape.one_sentence_a_line(ARTICLE)
    assert reshaped.split("\n") == [
        "Harbour bridge reopens",
        "",
        "The harbour bridge reopened on Monday.",
        "The first buses crossed it at dawn.",
        "Crowds cheered.",
        "",
        "Engineers repainted the towers green.",
        "The work took two years.",
        "",
    ]
    assert len(reshaped) == len(ARTICLE)
    assert reshaped.replace("\n", " ") == ARTICLE.replace("\n", " ")


def test_the_reshaped_set_keeps_its_gold_spans(wire_shape, tmp_path: Path, monkeypatch):
    source = tmp_path / "set"
    (source / "corpus").mkdir(parents=True)
    (source / "corpus" / "0001.txt").write_text(ARTICLE, encoding="utf-8")
    gold = "The first buses crossed it at dawn."
    start = ARTICLE.index(gold)
    (source / "questions.jsonl").write_text(json.dumps({"doc": "0001.txt", "gold_start": start, "gold_end": start + len(gold)}) + "\n")
    target = tmp_path / "wire"
    monkeypatch.setattr("sys.argv", ["wire_shape.py", str(source), str(target)])
    assert wire_shape.main() == 0
    text = (target / "corpus" / "0001.txt").read_text(encoding="utf-8")
    assert text[start : start + len(gold)] == gold
    assert (target / "questions.jsonl").read_text() == (source / "questions.jsonl").read_text()
    # each line is a paragraph of its own: with no joining of short ones, the gold sentence is a passage
    assert (start, start + len(gold)) in passage_spans(text, max_chars=700, min_chars=0)
