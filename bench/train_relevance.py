"""Train the relevance model (`[relevance]` in config/default.toml) and calibrate abstention.

    python bench/train_relevance.py                  # prints the [relevance] table and abstain_below
    python bench/train_relevance.py --store-root DIR # keep the ingested eval stores for next time

The model is a logistic regression of "this candidate passage answers the question" on
its `Evidence` (cosines, BM25, the share of the question's words it and its best sentence
hold, whether its article names the question's names). It is trained on the TUNE parts of two answer-annotated sets in ../shared/eval, both
CC BY-SA 4.0: OneStopQA news (gold spans) and SQuAD v1.1 dev (Wikipedia). The REPORT parts
(`newsdesk eval --offset 0 --limit ...`, see bench/RESULTS.md) are never read here. Each
set weighs the same, so the model suits news and encyclopaedic text alike.

Each set is read twice: as published, and one sentence a line (`bench/wire_shape.py`), the
shape of agency copy such as the seed, whose one-sentence passages a model trained on
several-sentence paragraphs rates too low (bench/RESULTS.md: on OneStopQA news answerable
questions abstained 7.0% of the time in that shape against 3.7%). A passage counts as
answering when it holds the gold as `newsdesk eval` judges a hit, or when at least half of
it is gold text: a one-sentence passage cannot cover half of a long gold span.

Abstention is calibrated on the same tune parts: the threshold is the highest at which
answerable questions abstain at most `--answerable-abstain` of the time, averaged over the
sets; the share of questions that abstain with their own article left out is printed
beside it, with the same figures at a few other thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsdesk.index import Engine, load_settings  # noqa: E402
from newsdesk.bot.evaluation import ingest_dataset, gold_for, load_questions  # noqa: E402
from newsdesk.index.search.scoring import KEYWORD_CAP, Evidence  # noqa: E402
from newsdesk.index.settings import Settings  # noqa: E402
from tests.support.shortlists import open_shortlists  # noqa: E402
from wire_shape import reshape_corpus  # noqa: E402  (bench/, beside this script)

SHARED_EVAL = ROOT.parent / "shared" / "eval"


@dataclass(frozen=True)
class TuneSet:
    folder: str
    offset: int
    limit: int
    # the text as published, or one sentence a line (as agency copy comes)
    one_sentence_a_line: bool

    @property
    def name(self) -> str:
        return f"{self.folder}, one sentence a line" if self.one_sentence_a_line else self.folder

    def corpus(self, root: Path) -> Path:
        """The set's articles in this shape: its own folder, or a reshaped copy written under root."""
        published = SHARED_EVAL / self.folder / "corpus"
        if not self.one_sentence_a_line:
            return published
        reshaped = root / "one-sentence-a-line" / self.folder
        reshape_corpus(published, reshaped)
        return reshaped

    def store(self, root: Path) -> Path:
        return root / (f"{self.folder}-one-sentence-a-line" if self.one_sentence_a_line else self.folder)


# The report splits are the questions before these: onestopqa-news 0-242 (docs 0001-0015),
# squad-v1.1-dev 0-999.
TUNE_SETS = tuple(
    TuneSet(folder, offset, limit, reshaped)
    for reshaped in (False, True)
    for folder, offset, limit in (("onestopqa-news", 243, 243), ("squad-v1.1-dev", 2000, 3000))
)
EVIDENCE = [f.name for f in fields(Evidence)]


def features(e: Evidence) -> list[float]:
    return [min(e.keyword, KEYWORD_CAP) if name == "keyword" else getattr(e, name) for name in EVIDENCE]


async def collect(
    settings: Settings, tune: TuneSet, corpus: Path
) -> tuple[np.ndarray, np.ndarray, list[list[int]], list[list[int]]]:
    """Evidence and answer labels of every candidate of every tune question, plus which rows
    belong to each question with its own article in, and with it left out."""
    dataset = SHARED_EVAL / tune.folder
    async with await Engine.open(settings=settings) as engine:
        located = await ingest_dataset(engine, corpus)
    scopes = list(located)
    rows: list[list[float]] = []
    labels: list[bool] = []
    answerable: list[list[int]] = []
    left_out: list[list[int]] = []
    async with open_shortlists(settings) as shortlists:
        for q in load_questions(dataset, tune.offset, tune.limit):
            gold = gold_for(q, *located[q.doc])
            own = []
            for c in await shortlists.candidates(q.question):
                (p,) = await shortlists.passages([c.passage_id])
                own.append(len(rows))
                rows.append(features(c.evidence))
                answers = gold.passage_hit(p.article_id, p.start, p.end, p.text) or gold.mostly_gold(p.article_id, p.start, p.end)
                labels.append(answers)
            answerable.append(own)
            others = [s for s in scopes if s != q.doc]
            out = []
            for c in await shortlists.candidates(q.question, scopes=others):
                out.append(len(rows))
                rows.append(features(c.evidence))
                labels.append(False)
            left_out.append(out)
    return np.asarray(rows), np.asarray(labels), answerable, left_out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store-root", type=Path, help="keep the eval stores here (default: a temporary folder)")
    parser.add_argument(
        "--answerable-abstain", type=float, default=0.03, help="most answerable questions that may abstain, averaged over the sets"
    )
    parser.add_argument("--regularisation", type=float, default=1.0, help="inverse L2 strength (scikit-learn's C)")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    if not SHARED_EVAL.is_dir():
        print(f"train_relevance: {SHARED_EVAL} is not present", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        root = args.store_root or Path(scratch)
        collected = []
        for tune in TUNE_SETS:
            settings = load_settings().with_data_dir(tune.store(root))
            collected.append(await collect(settings, tune, tune.corpus(root)))
    # Only candidates with the question's own article in are labelled examples; each set weighs the same.
    X = np.concatenate([x[np.concatenate(a)] for x, _, a, _ in collected])
    y = np.concatenate([y[np.concatenate(a)] for _, y, a, _ in collected])
    weight = np.concatenate([np.full(sum(map(len, a)), 1.0 / sum(map(len, a))) for _, _, a, _ in collected])
    model = LogisticRegression(C=args.regularisation, max_iter=5000).fit(X, y, sample_weight=weight * len(y))
    coefficients = dict(zip(EVIDENCE, model.coef_[0]))

    def top_probability(x: np.ndarray, rows: list[int]) -> float:
        return float(model.predict_proba(x[rows])[:, 1].max()) if rows else 0.0

    report = []
    for tune, (x, _, answerable, left_out) in zip(TUNE_SETS, collected):
        tops = np.array([top_probability(x, rows) for rows in answerable])
        report.append((tune, tops, np.array([top_probability(x, rows) for rows in left_out])))

    def answerable_abstain(threshold: float) -> float:
        return float(np.mean([np.mean(tops < threshold) for _, tops, _ in report]))

    candidates = np.unique(np.round(np.concatenate([tops for _, tops, _ in report]), 3))
    threshold = max((t for t in candidates if answerable_abstain(t) <= args.answerable_abstain), default=0.0)
    print("[relevance]")
    print(f"bias = {model.intercept_[0]:.3f}")
    for name, value in coefficients.items():
        print(f"{name} = {value:.3f}")
    print(f"\n[retrieval]\nabstain_below = {threshold}\n")
    for tune, tops, left in report:
        print(
            f"# {tune.name}, questions {tune.offset}-{tune.offset + tune.limit - 1}: "
            f"{np.mean(tops < threshold):.1%} of answerable questions abstain, "
            f"{np.mean(left < threshold):.1%} with their own article left out"
        )
    print("\n# threshold: answerable / left-out abstaining, per set")
    for other in sorted({threshold, 0.01, 0.02, 0.03, 0.05, 0.1}):
        cells = [f"{np.mean(tops < other):.1%} / {np.mean(left < other):.1%}" for _, tops, left in report]
        print(f"# {other:.3f}: " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
