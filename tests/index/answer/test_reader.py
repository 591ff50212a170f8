"""The read stage (index/answer/read.py): the reader, pinned and offline; questions in other languages.

No trained reader ships yet (bench/RESULTS.md, "The reader"), so the reader's tests run an
untrained one exported as a trained one is (tests/support/reader_model.py): they check what
the stage does with its scores, never the scores' quality.
"""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from newsdesk.index import Engine, load_settings
from newsdesk.index.models.language import is_english
from newsdesk.index.models.reader import Reader, ReaderUnavailableError

from tests.support.engines import BRIDGE, ORCHARD, PROJECT_ROOT, hashing_settings, write_jsonl
from tests.support.reader_model import export_untrained_reader


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("reader")
    return folder, export_untrained_reader(folder)


def test_a_reader_loads_from_its_folder_and_scores_each_passage(reader_folder):
    folder, sha256 = reader_folder
    reader = Reader(folder, sha256, max_tokens=64)
    logits = reader.logits("Which river flows through Paris?", ["The Seine flows through Paris. " * 40, "Apples."])
    assert logits.shape == (2,) and all(abs(v) < 100 for v in logits)
    assert reader.logits("Which river?", []).shape == (0,)


def test_a_reader_file_that_is_not_the_pinned_one_is_refused(reader_folder, tmp_path):
    folder, sha256 = reader_folder
    damaged = tmp_path / "reader"
    shutil.copytree(folder, damaged)
    with open(damaged / "model.onnx", "r+b") as f:  # one byte changed, as damage or tampering would
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ReaderUnavailableError, match="is not the pinned model"):
        Reader(damaged, sha256)


def test_a_missing_reader_file_is_named(tmp_path):
    with pytest.raises(ReaderUnavailableError, match="model.onnx is missing"):
        Reader(tmp_path, "0" * 64)


def test_the_cli_refuses_a_reader_with_a_wrong_sha256_in_one_line(reader_folder, tmp_path, capsys):
    from newsdesk.bot.cli import main

    folder, _ = reader_folder
    (tmp_path / "corpus").mkdir()
    write_jsonl(tmp_path / "corpus" / "news.jsonl", [BRIDGE])
    config = tmp_path / "wrong.toml"
    config.write_text(
        f'[model]\nbackend = "hashing"\n[reader]\nenabled = true\nmodel = "{folder}"\nsha256 = "{"0" * 64}"\n'
        f'[corpus]\ndir = "{tmp_path / "corpus"}"\n'
    )
    assert main(["--config", str(config), "--data-dir", str(tmp_path / "data"), "ask", "When did the bridge reopen?"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("newsdesk:")]
    assert len(errors) == 1 and "is not the pinned model" in errors[0] and "Traceback" not in err


def reading_settings(data_dir: Path, folder: Path, sha256: str, abstain_below: float):
    """The hashing embedder with the reader on, and a [reading] model of the reader's logit alone."""
    settings = hashing_settings(data_dir)
    reading = replace(load_settings().reading, bias=0.0, reader=1.0, dense=0.0, sentence_dense=0.0, keyword=0.0,
                      sentence_keyword=0.0, passage_keyword=0.0, article_names=0.0,
                      abstain_below=abstain_below, quote_below=0.0)
    return replace(settings, reader=replace(settings.reader, enabled=True, model=folder, sha256=sha256), reading=reading)


async def test_with_the_reader_quotes_come_in_the_readers_order_verbatim(reader_folder, tmp_path):
    folder, sha256 = reader_folder
    question = "When did the harbour bridge reopen?"
    async with await Engine.open(tmp_path / "data", reading_settings(tmp_path / "data", folder, sha256, 0.0)) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "news.jsonl", [BRIDGE, ORCHARD])])
        answer = await engine.ask(question, k=4)
        assert not answer.abstained and len(answer.answers) == 4
        for quote in answer.answers:
            assert (await engine.article(quote.article.id)).text[quote.start : quote.end] == quote.quote
            assert quote.quote[quote.highlight_start : quote.highlight_end] == quote.highlight
        # the first quote is the one the reader rates highest (the rest spread over articles, as always)
        logits = Reader(folder, sha256).logits(question, [q.quote for q in answer.answers])
        assert logits[0] == max(logits)


async def test_with_the_reader_nothing_under_its_threshold_is_quoted(reader_folder, tmp_path):
    folder, sha256 = reader_folder
    # a probability never reaches 1: every question abstains, however the words match
    async with await Engine.open(tmp_path / "data", reading_settings(tmp_path / "data", folder, sha256, 1.0)) as engine:
        await engine.ingest_paths([write_jsonl(tmp_path / "news.jsonl", [BRIDGE, ORCHARD])])
        answer = await engine.ask("When did the harbour bridge reopen?")
        assert answer.abstained and not answer.answers
        assert [a.title for a in answer.closest] == ["Harbour bridge reopens", "Orchard harvest record"]


@pytest.mark.parametrize(
    "question, english",
    [
        ("why does Russia oppose the missile shield?", True),
        ("When did Nasser die?", True),
        ("When did Beyoncé rise to fame?", True),
        ("Warum lehnt Russland den Raketenschild ab?", False),
        ("¿Por qué se opone Rusia al escudo antimisiles?", False),
        ("Почему Россия выступает против противоракетного щита?", False),
        ("俄罗斯为什么反对导弹防御系统？", False),
        ("لماذا تعارض روسيا الدرع الصاروخي؟", False),
    ],
)
def test_which_questions_are_read_as_english(question, english):
    assert is_english(question) is english


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engines(tmp_path_factory):
    """The bundled corpus with the real models as configured, and the same store answered as before the read stage."""
    data_dir = tmp_path_factory.mktemp("read-stage-data")
    settings = load_settings()
    configured = await Engine.open(data_dir, settings)
    report = await configured.ingest_paths([PROJECT_ROOT / "corpus"])
    assert report.articles_added == 25 and not report.problems
    before = replace(settings, other_languages=replace(settings.other_languages, enabled=False))
    previous = await Engine.open(data_dir, before, read_only=True)
    yield configured, previous
    await previous.close()
    await configured.close()


@pytest.mark.model
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "question",
    [
        "Warum lehnt Russland den geplanten Raketenschild ab?",
        "¿Qué tratado nuclear expira en diciembre?",
        "Почему Россия выступает против противоракетного щита?",
        "俄罗斯为什么反对导弹防御系统？",
    ],
)
async def test_a_question_in_another_language_is_answered_from_the_english_article(engines, question):
    configured, previous = engines
    answer = await configured.ask(question)
    assert not answer.abstained
    top = answer.answers[0]
    assert (top.article.source, top.article.date) == ("Reuters", "2009-07-05")
    assert (await configured.article(top.article.id)).text[top.start : top.end] == top.quote
    assert (await previous.ask(question)).abstained  # as it was before


@pytest.mark.model
@pytest.mark.asyncio(loop_scope="module")
async def test_english_questions_are_answered_as_before(engines):
    configured, previous = engines
    for question in ("When does the Start-1 pact expire?", "What caused the Hajj stampede?", "Who won the 2009 FA Cup final?"):
        now, before = await configured.ask(question, k=5), await previous.ask(question, k=5)
        assert [(q.start, q.end, q.score) for q in now.answers] == [(q.start, q.end, q.score) for q in before.answers]
        assert now.abstained == before.abstained
