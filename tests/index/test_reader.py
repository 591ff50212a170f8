"""The reader (index/reader.py) as shipped: pinned, offline, English-only, and what it changes in answers.

The tests that read real questions use the real models on the bundled corpus (the seed and
24 Wikinews articles); the others need only the reader's files.
"""

import shutil
from dataclasses import replace

import pytest
import pytest_asyncio

from newsdesk.index import Engine, load_settings
from newsdesk.index.language import is_english
from newsdesk.index.reader import Reader, ReaderUnavailableError

from tests.helpers import PROJECT_ROOT

SHIPPED = load_settings().reader


def test_the_shipped_reader_loads_offline_and_prefers_the_answering_passage():
    reader = Reader(SHIPPED.model, SHIPPED.sha256)
    logits = reader.logits(
        "Which river flows through Paris?",
        [
            "Apple growers in the valley picked a record harvest this autumn.",
            "The Seine flows through the heart of Paris before it reaches the sea at Le Havre.",
        ],
    )
    assert logits.shape == (2,) and logits[1] > logits[0]
    assert reader.logits("Which river?", []).shape == (0,)


def test_a_reader_file_that_is_not_the_pinned_one_is_refused(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(SHIPPED.model, folder)
    with open(folder / "model.onnx", "r+b") as f:  # one byte changed, as damage or tampering would
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ReaderUnavailableError, match="is not the pinned model"):
        Reader(folder, SHIPPED.sha256)


def test_a_missing_reader_file_is_named(tmp_path):
    with pytest.raises(ReaderUnavailableError, match="model.onnx is missing"):
        Reader(tmp_path, SHIPPED.sha256)


def test_the_cli_refuses_a_reader_with_a_wrong_sha256_in_one_line(tmp_path, capsys):
    from newsdesk.bot.cli import main

    config = tmp_path / "wrong.toml"
    config.write_text(f'[model]\nbackend = "hashing"\n[reader]\nsha256 = "{"0" * 64}"\n[corpus]\ndir = "{tmp_path}"\n')
    assert main(["--config", str(config), "--data-dir", str(tmp_path / "data"), "ask", "Who?"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("newsdesk:")]
    assert len(errors) == 1 and "is not the pinned model" in errors[0] and "Traceback" not in err


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
def test_questions_the_english_reader_reads(question, english):
    assert is_english(question) is english


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engines(tmp_path_factory):
    """The bundled corpus, answered with the reader and, from the same store, without it."""
    data_dir = tmp_path_factory.mktemp("reader-data")
    settings = load_settings()
    with_reader = await Engine.open(data_dir, settings)
    report = await with_reader.ingest_paths([PROJECT_ROOT / "corpus"])
    assert report.articles_added == 25 and not report.problems
    without = await Engine.open(data_dir, replace(settings, reader=replace(settings.reader, enabled=False)), read_only=True)
    yield with_reader, without
    await without.close()
    await with_reader.close()


async def assert_verbatim(engine: Engine, answer) -> None:
    for quote in answer.answers:
        text = (await engine.article(quote.article.id)).text
        assert text[quote.start : quote.end] == quote.quote
        assert quote.quote[quote.highlight_start : quote.highlight_end] == quote.highlight


@pytest.mark.model
@pytest.mark.asyncio(loop_scope="module")
async def test_the_cards_question_quotes_the_threat_to_its_security_first(engines):
    with_reader, without = engines
    question = "why does Russia oppose the missile shield?"
    answer = await with_reader.ask(question)
    await assert_verbatim(with_reader, answer)
    assert "as a threat to its security" in answer.answers[0].quote
    # without the reader, today's ranking: the paragraph on "Russian sensitivities" comes first
    before = await without.ask(question)
    assert "as a threat to its security" not in before.answers[0].quote


@pytest.mark.model
@pytest.mark.asyncio(loop_scope="module")
async def test_without_the_reader_quotes_follow_the_relevance_model(engines):
    _, without = engines
    for question in ("When does the Start-1 pact expire?", "What caused the Hajj stampede?"):
        answer = await without.ask(question, k=5)
        ranked = [c.score for c in await without.candidates(question)]
        assert [q.score for q in answer.answers] == sorted(ranked, reverse=True)[: len(answer.answers)]


@pytest.mark.model
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "question",
    [
        "Who won the men's singles title at Wimbledon this year?",
        "Why did the central bank raise interest rates again?",
        "How many people died when the ferry sank off the coast of South Korea?",
        "What did the new prime minister of Japan promise in his first speech?",
    ],
)
async def test_a_question_about_a_story_not_held_abstains(engines, question):
    answer = await engines[0].ask(question)
    assert answer.abstained and not answer.answers


@pytest.mark.model
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "question",
    ["Warum lehnt Russland den geplanten Raketenschild ab?", "俄罗斯为什么反对导弹防御系统？"],
)
async def test_a_question_in_another_language_is_answered_from_the_english_article(engines, question):
    answer = await engines[0].ask(question)
    assert not answer.abstained
    await assert_verbatim(engines[0], answer)
    assert answer.answers[0].article.source == "Reuters"
