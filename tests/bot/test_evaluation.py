"""`newsdesk eval` on small datasets laid out like ../shared/eval: answer strings (SQuAD) and gold spans (OneStopQA)."""

import json
from pathlib import Path

import pytest

from newsdesk.bot.cli import main
from newsdesk.bot.evaluation import Gold

DOCS = {
    "0001.txt": (
        "Harbour bridge",
        [
            "The harbour bridge reopened on Monday after two years of repairs to its steel cables, "
            "and the first buses crossed it at dawn.",
            "Engineers repainted the towers in the original green, a colour chosen when the bridge first opened in 1932.",
        ],
    ),
    "0002.txt": (
        "Orchard harvest",
        [
            "Apple growers in the valley picked a record harvest this autumn thanks to a mild spring "
            "and a dry, warm summer that ripened the fruit early.",
            "Prices for cider apples fell by a third as a result of the glut, and some growers left fruit on the trees.",
        ],
    ),
}
QUESTIONS = [
    ("When did the harbour bridge reopen?", "Monday", "0001.txt"),
    ("What colour were the bridge towers repainted?", "green", "0001.txt"),
    ("Why was the apple harvest a record?", "a mild spring", "0002.txt"),
    ("By how much did cider apple prices fall?", "by a third", "0002.txt"),
]


def write_dataset(root: Path, gold_fields) -> Path:
    """DOCS as corpus files (title line, blank line, body) and QUESTIONS with the fields gold_fields(file text, body, gold) gives."""
    (root / "corpus").mkdir(parents=True)
    with open(root / "questions.jsonl", "w", encoding="utf-8") as out:
        for name, (title, paragraphs) in DOCS.items():
            body = "\n\n".join(paragraphs)
            (root / "corpus" / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        for question, gold, doc in QUESTIONS:
            title, paragraphs = DOCS[doc]
            body = "\n\n".join(paragraphs)
            record = {"question": question, "doc": doc, **gold_fields(f"{title}\n\n{body}\n", body, gold)}
            out.write(json.dumps(record) + "\n")
    return root


def hashing_config(tmp_path: Path, extra: str = "") -> Path:
    """A config with the hashing embedder, whose scores are not on the real model's scale, and no read stage."""
    config = tmp_path / "test.toml"
    config.write_text('[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[other_languages]\nenabled = false\n' + extra)
    return config


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """SQuAD-style: answer strings, with their offset into the body."""
    return write_dataset(tmp_path / "dataset", lambda file, body, gold: {"answers": [gold], "answer_start": body.index(gold)})


@pytest.fixture
def gold_span_dataset(tmp_path: Path) -> Path:
    """OneStopQA-style: paraphrased answers and gold spans, offsets into the file (title line included)."""

    def span(file: str, body: str, gold: str) -> dict:
        start = file.index(gold)
        return {"answers": ["a paraphrase"], "gold_start": start, "gold_end": start + len(gold), "gold_text": gold}

    return write_dataset(tmp_path / "spans", span)


def test_eval_reports_every_system_side_by_side(dataset: Path, tmp_path: Path, capsys):
    config = hashing_config(tmp_path, "[passages]\nmin_chars = 0\n[retrieval]\nabstain_below = 0.0\n")  # abstention off
    assert main(["--config", str(config), "eval", str(dataset), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 4 and report["passages"] == 4
    assert set(report["systems"]) == {"newsdesk", "bm25", "dense", "rrf"}
    for name, scores in report["systems"].items():
        assert 0 <= scores["hit@1"] <= scores["hit@5"] <= 1, name
        assert scores["query_ms_p50"] <= scores["query_ms_p95"]
    # each question shares its key words with exactly one paragraph: keyword search finds all four
    assert report["systems"]["bm25"]["hit@1"] == 1.0
    assert report["systems"]["newsdesk"]["hit@5"] == 1.0
    assert report["systems"]["bm25"]["quote@1"] is None
    assert report["systems"]["rrf"]["quote@1"] is not None
    assert report["abstention"] == {"left_out_abstain_rate": 0.0, "answerable_abstain_rate": 0.0}


def test_eval_scores_gold_spans_counted_from_the_file_start(gold_span_dataset: Path, tmp_path: Path, capsys):
    config = hashing_config(tmp_path, "[passages]\nmin_chars = 0\n[retrieval]\nabstain_below = 0.0\n")  # abstention off
    assert main(["--config", str(config), "eval", str(gold_span_dataset), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # the answers are paraphrases found in no passage: only the spans, shifted past the title line, can score
    assert report["systems"]["bm25"]["hit@1"] == 1.0
    assert report["systems"]["newsdesk"]["hit@5"] == 1.0
    assert report["systems"]["rrf"]["hit@5"] == 1.0
    # a marked sentence scores only when half of it lies inside the span: these spans are a few words
    assert report["systems"]["newsdesk"]["quote@1"] == 0.0


def test_eval_with_the_read_stage_reports_the_previous_newsdesk_and_each_language(dataset: Path, tmp_path: Path, capsys):
    """The read stage on (as configured: other languages); the same store answered as before it in the same run;
    XQuAD's `lang` splits the figures."""
    questions = [json.loads(line) for line in (dataset / "questions.jsonl").read_text().splitlines()]
    for record, lang in zip(questions, ["en", "en", "de", "de"]):
        record["lang"] = lang
    (dataset / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in questions))
    config = tmp_path / "read-stage.toml"
    config.write_text('[model]\nbackend = "hashing"\n[passages]\nmin_chars = 0\n')
    assert main(["--config", str(config), "eval", str(dataset), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["systems"]) == {"newsdesk", "previous newsdesk", "bm25", "dense", "rrf"}
    assert set(report["abstention_previous"]) == {"left_out_abstain_rate", "answerable_abstain_rate"}
    assert set(report["languages"]) == {"de", "en"}
    assert set(report["languages"]["de"]) == {"newsdesk", "previous newsdesk"}
    assert report["languages"]["en"]["newsdesk"]["query_ms_p50"] > 0


def test_eval_limit_and_offset_pick_the_questions(dataset: Path, tmp_path: Path, capsys):
    config = hashing_config(tmp_path)
    assert main(["--config", str(config), "eval", str(dataset), "--json", "--offset", "1", "--limit", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["questions"], report["offset"]) == (2, 1)


def test_eval_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path, capsys):
    assert main(["eval", str(tmp_path)]) == 2
    assert "questions.jsonl" in capsys.readouterr().err


def test_a_passage_mostly_inside_a_long_gold_span_is_gold_text_one_that_only_touches_it_is_not():
    """What bench/train_relevance.py counts as answering besides a hit: a one-sentence passage of
    wire copy can lie wholly inside a gold span yet cover far less than half of it."""
    long_span = Gold(article_id=1, answers=["a paraphrase"], span=(100, 400), cover=0.5)
    sentence = (150, 230)
    assert not long_span.passage_hit(1, *sentence, "")
    assert long_span.mostly_gold(1, *sentence)
    assert not long_span.mostly_gold(1, 40, 140)  # 40 of its 100 characters inside
    assert not long_span.mostly_gold(2, *sentence)  # another article
    answer_strings = Gold(article_id=1, answers=["Monday"], span=(10, 16), cover=1.0)
    assert not answer_strings.mostly_gold(1, 0, 20)
