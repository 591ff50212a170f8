"""Choosing quotes: spread over articles when close, near-duplicates dropped, newer first on ties."""

import numpy as np

from newsdesk.index.search.scoring import Evidence, RelevanceModel, keyword_share
from newsdesk.index.answer.selection import Candidate, select
from newsdesk.index.tokenization import names_held, question_names, question_tokens, tokenize


def pick(candidates, vectors=None, k=3, factor=0.9, tie=0.02):
    vectors = vectors or {c.passage_id: np.eye(8)[c.passage_id] for c in candidates}
    chosen = select(
        candidates, k, vector_of=vectors.__getitem__, duplicate_similarity=0.95,
        same_article_factor=factor, recency_tie=tie,
    )
    return [c.passage_id for c in chosen]


def cand(pid, article, score, date="2024-01-01"):
    return Candidate(pid, article, date, score, Evidence(score, score, score, score, score, 1.0), (0, 1))


def test_a_close_passage_from_another_article_comes_before_a_second_from_the_first():
    assert pick([cand(1, 10, 0.90), cand(2, 10, 0.85), cand(3, 20, 0.83)]) == [1, 3, 2]


def test_a_clearly_better_second_passage_of_one_article_keeps_its_place():
    assert pick([cand(1, 10, 0.90), cand(2, 10, 0.85), cand(3, 20, 0.60)]) == [1, 2, 3]


def test_near_duplicate_passages_are_collapsed():
    same = np.eye(8)[1]
    vectors = {1: same, 2: same, 3: np.eye(8)[3]}
    assert pick([cand(1, 10, 0.9), cand(2, 20, 0.88), cand(3, 30, 0.5)], vectors) == [1, 3]


def test_the_newer_article_wins_a_near_tie_but_not_a_clear_gap():
    old, new = cand(1, 10, 0.80, "2019-05-01"), cand(2, 20, 0.79, "2024-05-01")
    assert pick([old, new], k=2) == [2, 1]
    old, new = cand(1, 10, 0.80, "2019-05-01"), cand(2, 20, 0.70, "2024-05-01")
    assert pick([old, new], k=2) == [1, 2]


def test_question_words_are_not_keywords():
    assert question_tokens("When and where did the bridge open?") == tokenize("the bridge open")


def test_a_question_names_its_capitalised_words_after_the_first():
    assert question_names("Who is the prime minister of Japan?") == ["Japan"]
    assert question_names("why does Russia oppose the missile shield?") == ["Russia"]
    assert question_names("What did Obama's aides tell The Times about Obama?") == ["Obama", "Times"]  # "The" is a stop word
    assert question_names("who is the prime minister of japan?") == []  # typed in lower case: no names
    # days, months and the titles before a name are not names: a report may say "yesterday", "Mr"
    assert question_names("What did President Obama and Mr Putin agree on Monday in July?") == ["Obama", "Putin"]


def test_an_article_holds_a_name_as_the_start_of_a_word_in_any_case():
    assert names_held("Tokyo (Reuters) - JAPAN's prime minister said", ["Japan"]) == {"Japan"}
    assert names_held("the Japanese prime minister", ["Japan"]) == {"Japan"}
    assert names_held("New Zealand's prime minister", ["Japan"]) == set()
    assert names_held("Moscow and Tokyo", ["Russia", "Tokyo"]) == {"Tokyo"}
    assert names_held("a Nippon-Japan route", ["Pan"]) == set()  # the start of a word, not inside one
    assert names_held("Turkey's president, Recep Tayyip Erdoğan", ["Erdogan"]) == {"Erdogan"}  # accents aside
    assert names_held("Schrodinger's cat", ["Schrödinger"]) == {"Schrödinger"}
    assert names_held("the DVD release", ["DVDs"]) == {"DVDs"}  # a plural name, as its singular


def test_keyword_share_weighs_the_question_words_by_rarity():
    sentence = set(tokenize("The bridge opened in May."))
    assert keyword_share({"bridg": 1.0, "open": 1.0}, sentence) == 1.0
    assert keyword_share({"bridg": 1.0, "mayor": 1.0}, sentence) == 0.5
    assert keyword_share({"bridg": 1.0, "mayor": 3.0}, sentence) == 0.25  # the rarer word, missing, counts more


def test_relevance_rises_with_every_piece_of_evidence_and_is_a_probability():
    model = RelevanceModel(
        bias=-10, dense=3, sentence_dense=4, keyword=2, sentence_keyword=3, passage_keyword=5, article_names=1
    )
    weak = Evidence(
        dense=0.2, sentence_dense=0.3, keyword=0.1, sentence_keyword=0.2, passage_keyword=0.3, article_names=0.0
    )
    assert 0 < model.probability(weak) < 0.01
    for field in ("dense", "sentence_dense", "keyword", "sentence_keyword", "passage_keyword", "article_names"):
        stronger = Evidence(**{**weak.__dict__, field: getattr(weak, field) + 0.5})
        assert model.probability(stronger) > model.probability(weak), field
    # BM25 past its cap (a passage repeating the question's words) earns nothing more
    assert model.probability(Evidence(**{**weak.__dict__, "keyword": 9.0})) == model.probability(
        Evidence(**{**weak.__dict__, "keyword": 1.5})
    )


def test_the_marked_sentence_weighs_meaning_and_words_as_the_model_does():
    model = RelevanceModel(
        bias=0, dense=0, sentence_dense=4, keyword=0, sentence_keyword=2, passage_keyword=0, article_names=0
    )
    scores = model.sentence_scores(np.array([0.5, 0.6]), [0.5, 0.0])
    assert scores.argmax() == 0  # 0.1 of cosine is worth less than half the question's words
