"""Fit `[reading]` and `[other_languages]` (index/answer/read.py) and their thresholds, on data no report reads.

    python bench/calibrate_reader.py --store DIR      # prints the two config sections and the held-out figures

English: the held-out tenth of SQuAD v1.1 train (bench/train_reader.py never trains on those
articles) is ingested as newsdesk would store it, one scope an article. For a sample of its
questions the shortlist is taken twice, as asked and with the question's own article left out
(a question about a story the store does not hold), and the shipped reader reads each
shortlist. A logistic regression of "this passage holds the answer" is fitted on the reader's
logit alone and on the logit with the candidate's evidence; the evidence is kept only when
cross-validation (two folds by question) shows it helps. `abstain_below` is the highest
threshold at which at most 3% of answerable questions abstain; `quote_below` the highest at
which an answering passage in the shortlist is shown 99% of the time (a later quote is shown unless it is
clearly unrelated: a stricter bar drops answers from the top five).

Other languages: the reader reads English only. `[other_languages]` is a logistic model on the
multilingual embedder's cosines (dense, sentence_dense), fitted on the same English candidates;
its thresholds are calibrated on XQuAD's questions in the eleven other languages (allowed for
thresholds, never for training; its other half, kept apart, checks them): the highest at which
at most 5% of those questions abstain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import random
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from newsdesk.index import Engine, load_settings  # noqa: E402
from newsdesk.bot.evaluation import ingest_dataset  # noqa: E402
from newsdesk.index.models.language import is_english  # noqa: E402
from newsdesk.index.models.reader import Reader  # noqa: E402
from newsdesk.index.search.scoring import KEYWORD_CAP  # noqa: E402
from newsdesk.index.settings import Settings  # noqa: E402
from tests.support.shortlists import open_shortlists  # noqa: E402
from train_reader import SEED, load_articles, split  # noqa: E402

XQUAD = ROOT.parent / "shared" / "eval" / "xquad-crosslingual"
EVIDENCE = ("dense", "sentence_dense", "keyword", "sentence_keyword", "passage_keyword", "article_names")
CROSSLINGUAL = ("dense", "sentence_dense")
ANSWERABLE_ABSTAIN = 0.03
OTHER_LANGUAGES_ABSTAIN = 0.05
QUOTE_SHOWN = 0.99


def evidence_row(c) -> list[float]:
    e = asdict(c.evidence)
    e["keyword"] = min(e["keyword"], KEYWORD_CAP)
    return [e[name] for name in EVIDENCE]


def reader_off(data_dir: Path) -> Settings:
    """The shipped settings on data_dir, without the reader: the shortlists are read here, by the reader being fitted."""
    settings = load_settings().with_data_dir(data_dir)
    return replace(settings, reader=replace(settings.reader, enabled=False))


def write_corpus(articles, folder: Path) -> list[tuple[str, str, int, int]]:
    """The articles as corpus files (title, blank line, text); their questions as (question, file, start, end) in the file."""
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    for i, a in enumerate(articles):
        name = f"{i:04d}.txt"
        head = f"{a.title.replace('_', ' ')}\n\n"
        (folder / name).write_text(head + a.text, encoding="utf-8")
        questions += [(q, name, len(head) + offset, len(head) + offset + len(answer)) for q, offset, answer in a.questions]
    return questions


async def collect_english(store: Path, sample: int, depth: int) -> list[dict]:
    """Per sampled held-out question: the shortlist as asked and with its article left out, with evidence and labels."""
    _, held = split(load_articles(ROOT.parent / "shared" / "train" / "squad-v1.1-train" / "train-v1.1.json"))
    corpus = store / "corpus"
    questions = write_corpus(held, corpus)
    settings = reader_off(store / "data")
    async with await Engine.open(settings=settings) as engine:
        located = await ingest_dataset(engine, corpus)
    scopes = list(located)
    rows = []
    async with open_shortlists(settings) as shortlists:
        for question, name, start, end in random.Random(SEED).sample(questions, sample):
            article_id, body = located[name]
            record = {"question": question}
            for key, asked_scopes in (("asked", None), ("left_out", [s for s in scopes if s != name])):
                shortlist = (await shortlists.candidates(question, asked_scopes))[:depth]
                passages = await shortlists.passages([c.passage_id for c in shortlist])
                by_id = {p.id: p for p in passages}
                record[key] = [
                    {
                        "text": by_id[c.passage_id].text,
                        "evidence": evidence_row(c),
                        "label": int(c.article_id == article_id
                                     and by_id[c.passage_id].start <= start - body
                                     and end - body <= by_id[c.passage_id].end),
                    }
                    for c in shortlist if c.passage_id in by_id
                ]
            rows.append(record)
    return rows


async def collect_other_languages(store: Path, per_language: int) -> list[dict]:
    """XQuAD's non-English questions: each shortlist's cross-language evidence (no labels needed: all are answerable)."""
    settings = reader_off(store / "xquad")
    async with await Engine.open(settings=settings) as engine:
        await ingest_dataset(engine, XQUAD / "corpus")
    rows = []
    async with open_shortlists(settings) as shortlists:
        taken: dict[str, int] = {}
        for line in (XQUAD / "questions.jsonl").read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q["lang"] == "en" or taken.get(q["lang"], 0) >= per_language:
                continue
            taken[q["lang"]] = taken.get(q["lang"], 0) + 1
            shortlist = (await shortlists.candidates(q["question"]))[:10]
            rows.append({"lang": q["lang"], "english": is_english(q["question"]),
                         "evidence": [evidence_row(c) for c in shortlist]})
    return rows


def read_logits(rows: list[dict], reader: Reader) -> None:
    for r in rows:
        for key in ("asked", "left_out"):
            texts = [c["text"] for c in r[key]]
            for c, logit in zip(r[key], reader.logits(r["question"], texts)):
                c["logit"] = float(logit)


def features(c: dict, columns: str) -> list[float]:
    """One candidate's features for the model named by columns."""
    if columns == "evidence":
        return c["evidence"]
    if columns == "reader":
        return [c["logit"]]
    if columns == "reader+evidence":
        return [c["logit"], *c["evidence"]]
    return [c["evidence"][EVIDENCE.index(n)] for n in CROSSLINGUAL]


def matrix(rows: list[dict], key: str, columns: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Features, labels, and each row's question number."""
    x, y, owner = [], [], []
    for i, r in enumerate(rows):
        for c in r[key]:
            x.append(features(c, columns))
            y.append(c["label"])
            owner.append(i)
    return np.array(x), np.array(y), owner


def fit(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=1000).fit(x, y)


def best_scores(model, rows: list[dict], key: str, columns: str) -> tuple[list[float], list[int], list[list[float]]]:
    """Per question: its best probability, whether the best is an answering passage, and each answering passage's probability."""
    best, hit, gold = [], [], []
    for r in rows:
        if not r[key]:
            best.append(0.0), hit.append(0), gold.append([])
            continue
        x, y, _ = matrix([r], key, columns)
        p = model.predict_proba(x)[:, 1]
        best.append(float(p.max()))
        hit.append(int(y[int(np.argmax(p))]))
        gold.append([float(v) for v, label in zip(p, y) if label])
    return best, hit, gold


def threshold_for(best: list[float], abstain_share: float) -> float:
    """The highest threshold at which at most abstain_share of these questions abstain."""
    ordered = np.sort(np.asarray(best))
    return float(ordered[int(np.floor(abstain_share * len(ordered)))]) if len(ordered) else 0.5


def report(name: str, model, rows: list[dict], columns: str, threshold: float) -> dict:
    best, hit, _ = best_scores(model, rows, "asked", columns)
    left, _, _ = best_scores(model, rows, "left_out", columns)
    return {
        "model": name,
        "hit@1": round(float(np.mean(hit)), 4),
        "answerable_abstain": round(float(np.mean(np.asarray(best) < threshold)), 4),
        "left_out_abstain": round(float(np.mean(np.asarray(left) < threshold)), 4),
        "threshold": round(threshold, 4),
    }


def cross_validate(rows: list[dict], columns: str) -> dict:
    """Two folds by question: fit on one half, threshold on it, measure on the other."""
    halves = [rows[0::2], rows[1::2]]
    figures = []
    for train_rows, test_rows in ((halves[0], halves[1]), (halves[1], halves[0])):
        x, y, _ = matrix(train_rows, "asked", columns)
        x2, y2, _ = matrix(train_rows, "left_out", columns)
        model = fit(np.vstack([x, x2]), np.concatenate([y, y2]))
        threshold = threshold_for(best_scores(model, train_rows, "asked", columns)[0], ANSWERABLE_ABSTAIN)
        figures.append(report(columns, model, test_rows, columns, threshold))
    return {k: round(float(np.mean([f[k] for f in figures])), 4) if k != "model" else columns for k in figures[0]}


def section(name: str, weights: dict[str, float], abstain_below: float, quote_below: float) -> str:
    lines = [f"[{name}]"] + [f"{k} = {v:.4f}" for k, v in weights.items()]
    lines += [f"abstain_below = {abstain_below:.4f}", f"quote_below = {quote_below:.4f}"]
    return "\n".join(lines)


def weights_of(model, columns: list[str]) -> dict[str, float]:
    return {"bias": float(model.intercept_[0]), **{c: float(w) for c, w in zip(columns, model.coef_[0])}}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a folder outside the repository for the stores")
    parser.add_argument("--sample", type=int, default=800, help="held-out SQuAD questions")
    parser.add_argument("--depth", type=int, default=load_settings().reader.depth, help="passages the reader reads")
    parser.add_argument("--collect-depth", type=int, default=20, help="shortlist kept per question (>= --depth)")
    parser.add_argument("--per-language", type=int, default=150, help="XQuAD questions per language")
    args = parser.parse_args()
    args.store.mkdir(parents=True, exist_ok=True)
    cache = args.store / f"english-{args.sample}-{args.collect_depth}.pickle"
    if not cache.exists():
        cache.write_bytes(pickle.dumps(await collect_english(args.store, args.sample, args.collect_depth)))
    rows = [{**r, "asked": r["asked"][: args.depth], "left_out": r["left_out"][: args.depth]}
            for r in pickle.loads(cache.read_bytes())]
    print(f"{len(rows)} held-out questions, the reader reading {args.depth} passages each")
    r = load_settings().reader
    read_logits(rows, Reader(r.model, r.sha256, max_tokens=r.max_tokens, threads=r.threads))

    # "evidence": the same logistic form without the reader, fitted the same way: what the reader must beat
    figures = {c: cross_validate(rows, c) for c in ("evidence", "reader", "reader+evidence")}
    for columns, figure in figures.items():
        print(f"cross-validated, {columns}: {figure}")
    better = figures["reader+evidence"]["left_out_abstain"] + figures["reader+evidence"]["hit@1"] > (
        figures["reader"]["left_out_abstain"] + figures["reader"]["hit@1"]
    )
    columns = "reader+evidence" if better else "reader"
    x, y, _ = matrix(rows, "asked", columns)
    x2, y2, _ = matrix(rows, "left_out", columns)
    english = fit(np.vstack([x, x2]), np.concatenate([y, y2]))
    best, _, gold = best_scores(english, rows, "asked", columns)
    abstain_below = threshold_for(best, ANSWERABLE_ABSTAIN)
    quote_below = min(abstain_below, threshold_for([g for gs in gold for g in gs], 1 - QUOTE_SHOWN))
    names = ["reader", *EVIDENCE] if columns == "reader+evidence" else ["reader"]
    print(f"in sample: {report(columns, english, rows, columns, abstain_below)}")
    print(section("reading", weights_of(english, names), abstain_below, quote_below))

    crosslingual = fit(*matrix(rows, "asked", "crosslingual")[:2])
    other_cache = args.store / f"xquad-{args.per_language}.pickle"
    if not other_cache.exists():
        other_cache.write_bytes(pickle.dumps(await collect_other_languages(args.store, args.per_language)))
    other = pickle.loads(other_cache.read_bytes())
    read_as_english = sum(o["english"] for o in other)
    print(f"XQuAD, other languages: {read_as_english} of {len(other)} questions read as English")
    idx = [EVIDENCE.index(n) for n in CROSSLINGUAL]
    best_other = [
        float(crosslingual.predict_proba(np.array([[e[i] for i in idx] for e in o["evidence"]]))[:, 1].max())
        if o["evidence"] else 0.0
        for o in other
    ]
    other_below = threshold_for(best_other, OTHER_LANGUAGES_ABSTAIN)
    left = best_scores(crosslingual, rows, "left_out", "crosslingual")[0]
    print(f"other languages: English held-out left-out questions abstain at that threshold: "
          f"{float(np.mean(np.asarray(left) < other_below)):.3f}")
    print(section("other_languages", weights_of(crosslingual, list(CROSSLINGUAL)), other_below, other_below))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
