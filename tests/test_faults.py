"""Faults and hostile input (issue 5): SIGKILL during ingest, malformed uploads, hostile
questions, and SQL built only from placeholders.

Everything here uses the instant hashing embedder and fixed seeds. The crash tests run the
ingesting engine in a child process (a script written to tmp_path) and kill it with SIGKILL;
the store is then checked from this process, both through the engine and with sqlite3.
"""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from index import Answer, Engine, QuestionError
from index.embedding import model_identity
from index.indexes import INDEX_NAME
from index.store.sqlite import DB_NAME
from index.reading import display_name
from index.vectors import FaissIndex

from .helpers import PROJECT_ROOT, hashing_settings, write_jsonl

HASHING_MODEL = model_identity("hashing", "")
CHILD_TIMEOUT = 30.0

# --- shared checks --------------------------------------------------------------------


def ro_db(data_dir: Path) -> sqlite3.Connection:
    """A read-only connection, so that checking the store can never change it."""
    return sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True)


TABLES = ("articles", "passages", "sentences", "embeddings", "meta", "feedback")


def db_counts(data_dir: Path) -> dict[str, int]:
    with closing(ro_db(data_dir)) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


async def assert_quotes_verbatim(engine: Engine, answer: Answer) -> None:
    for q in answer.answers:
        stored = await engine.article(q.article.id)
        assert stored is not None, f"quoted article {q.article.id} does not exist"
        assert stored.text[q.start : q.end] == q.quote, f"quote is not verbatim: {q.quote[:80]!r}"
        assert q.quote[q.highlight_start : q.highlight_end] == q.highlight


async def assert_passages_verbatim(engine: Engine, article_ids: list[int]) -> None:
    """Every stored passage of these articles is exactly its article's text[start:end]."""
    with closing(ro_db(engine.settings.storage.data_dir)) as db:
        marks = ",".join("?" * len(article_ids))
        ids = [r[0] for r in db.execute(f"SELECT id FROM passages WHERE article_id IN ({marks})", article_ids)]
    texts = {a: (await engine.article(a)).text for a in article_ids}
    rows = await engine.passages(ids)
    assert len(rows) == len(ids)
    for p in rows:
        assert p.text == texts[p.article_id][p.start : p.end], f"passage {p.id} differs from its article's text"


def one_line(message: str) -> bool:
    return len(message.splitlines()) == 1


# --- 1. crash consistency -------------------------------------------------------------

CHILD_SCRIPT = r'''
"""Open an engine on argv[2] and ingest the files argv[3:] one call each, printing DONE <name>.

The parent writes one line to stdin per file it lets the child start.

KILL_AT="<point>:<n>" makes the process SIGKILL itself the n-th time it reaches <point>:
  in-transaction  inside a file's transaction, after its embeddings are inserted
  before-index    after the articles are committed, before the vector index is updated
  index-written   after the new index is written to its temporary file, before the rename
"""
import asyncio, os, signal, sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tests.helpers import hashing_settings
from index import Engine
import index.indexes as indexes_module
import index.store.sqlite as store_module
import index.vectors.faiss_index as vectors_module

point, _, nth = os.environ.get("KILL_AT", "").partition(":")
reached = 0


def maybe_die(name):
    global reached
    if name == point:
        reached += 1
        if reached == int(nth):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


if point:
    insert_embeddings = store_module.SqliteStore._insert_embeddings
    indexes_add = indexes_module.LiveIndexes.add
    write_index = vectors_module.faiss.write_index

    async def _insert_embeddings(self, *a, **k):
        await insert_embeddings(self, *a, **k)
        maybe_die("in-transaction")

    async def _indexes_add(self, *a, **k):
        maybe_die("before-index")
        await indexes_add(self, *a, **k)

    def _write_index(*a, **k):
        write_index(*a, **k)
        maybe_die("index-written")

    store_module.SqliteStore._insert_embeddings = _insert_embeddings
    indexes_module.LiveIndexes.add = _indexes_add
    vectors_module.faiss.write_index = _write_index


async def main():
    engine = await Engine.open(settings=hashing_settings(Path(sys.argv[2])))
    from index.passages import sentence_spans
    sentence_spans("Warm up the lazy imports. So that kills land in ingests.")
    print("READY", flush=True)
    for name in sys.argv[3:]:
        if not sys.stdin.readline():  # one line from the parent per file: it paces the kills
            break
        await engine.ingest_paths([name])
        print("DONE", Path(name).name, flush=True)
    await engine.close()
    print("FINISHED", flush=True)


asyncio.run(main())
'''

VOCAB = (
    "harbour bridge council river budget minister election railway station hospital school "
    "farmers harvest storm flood power grid court ruling strike union wages market prices "
    "energy gas pipeline talks treaty border trade tariff factory workers museum festival "
    "airport runway police inquiry report mayor village coast ferry weather drought water "
    "reservoir housing rents tenants library park forest fire crews season league"
).split()


@dataclass(frozen=True)
class CrashCorpus:
    files: list[Path]
    origins: dict[str, list[str]]  # file name -> origins of its articles
    questions: dict[str, str]  # origin -> a question made of the article's first sentence (with its own word)
    layout: dict[str, tuple]  # origin -> the article's stored shape in a store that never crashed


def _article(rng: random.Random, i: int) -> tuple[str, str, str]:
    """(title, text, first sentence); the first sentence holds a word no other article has."""
    marker = f"zq{i:02d}mark"
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        sentences = []
        for s in range(rng.randint(2, 10)):  # some paragraphs exceed 700 characters and are split
            words = [rng.choice(VOCAB) for _ in range(rng.randint(6, 14))]
            if s == 0:
                words.insert(rng.randrange(len(words)), marker)
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
    return f"Report {i} on the {rng.choice(VOCAB)}", "\n\n".join(paragraphs), paragraphs[0].split(".")[0]


def store_layout(data_dir: Path) -> dict[str, tuple]:
    """origin -> (content hash, passages as (ordinal, start, end, hash, sentences)); from sqlite."""
    with closing(ro_db(data_dir)) as db:
        sentences: dict[int, list] = {}
        for pid, start, end, h in db.execute("SELECT passage_id, start, end, text_hash FROM sentences ORDER BY start"):
            sentences.setdefault(pid, []).append((start, end, h))
        articles: dict[str, tuple[str, list]] = {}
        for origin, digest, pid, ordinal, start, end, h in db.execute(
            "SELECT a.origin, a.content_hash, p.id, p.ordinal, p.start, p.end, p.text_hash "
            "FROM articles a LEFT JOIN passages p ON p.article_id = a.id ORDER BY a.id, p.ordinal"
        ):
            entry = articles.setdefault(origin, (digest, []))
            if pid is not None:
                entry[1].append((ordinal, start, end, h, tuple(sentences.get(pid, ()))))
    return {origin: (digest, tuple(passages)) for origin, (digest, passages) in articles.items()}


async def _reference_layout(files: list[Path], data_dir: Path) -> dict[str, tuple]:
    reference = await Engine.open(settings=hashing_settings(data_dir))
    try:
        report = await reference.ingest_paths(files)
        assert report.articles_added == 30 and not report.problems
    finally:
        await reference.close()
    return store_layout(data_dir)


@pytest.fixture(scope="module")
def crash_corpus(tmp_path_factory: pytest.TempPathFactory) -> CrashCorpus:
    """30 articles in 24 .txt files and 3 two-article .jsonl files, and their layout in a store
    that never crashed (built once: the files are only read)."""
    root = tmp_path_factory.mktemp("crash-corpus")
    rng = random.Random(5)
    folder = root / "articles"
    folder.mkdir()
    files, origins, questions = [], {}, {}
    for i in range(24):
        title, text, first = _article(rng, i)
        path = folder / f"a{i:02d}.txt"
        path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        files.append(path)
        origins[path.name] = [path.name]
        questions[path.name] = first
    for j in range(3):
        records = []
        path = folder / f"feed{j}.jsonl"
        origins[path.name] = []
        for line in (1, 2):
            title, text, first = _article(rng, 24 + 2 * j + line - 1)
            records.append({"title": title, "text": text, "date": f"2024-0{j + 1}-1{line}"})
            origins[path.name].append(f"{path.name}:{line}")
            questions[f"{path.name}:{line}"] = first
        files.append(write_jsonl(path, records))
    layout = asyncio.run(_reference_layout(files, root / "reference"))
    assert set(layout) == set(questions)
    return CrashCorpus(files, origins, questions, layout)


class IngestTiming:
    """How long one file's ingest takes in the child, so kill delays fall inside ingests."""

    def __init__(self) -> None:
        self.samples: list[float] = [0.005]

    @property
    def typical(self) -> float:
        return sorted(self.samples)[len(self.samples) // 2]


def run_child(
    script: Path,
    data_dir: Path,
    files: list[Path],
    *,
    kill_after_done: int | None = None,
    kill_fraction: float = 0.0,
    timing: IngestTiming | None = None,
    kill_after_seconds: float | None = None,
    allowed: int | None = None,
    kill_at: str = "",
) -> tuple[set[str], int, str]:
    """Run the ingesting child, and perhaps SIGKILL it.

    kill_after_done=k: let k files be ingested one by one, start the next and SIGKILL the
    child `kill_fraction` of a typical ingest later. kill_after_seconds: let it ingest
    `allowed` files (all by default) and SIGKILL it that long after spawning it (in start-up,
    opening, ingesting or waiting). Neither: it runs to the end, or to its KILL_AT point
    where it kills itself.

    Returns:
        (names of the files whose ingest returned, exit code, stderr).
    """
    env = dict(os.environ, KILL_AT=kill_at, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    err_path = data_dir.parent / "child-stderr.txt"
    lines: list[str] = []

    def send(text: str) -> None:
        try:
            proc.stdin.write(text)
            proc.stdin.flush()
        except BrokenPipeError:  # the child died early: its exit code and stderr tell why
            pass
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(PROJECT_ROOT), str(data_dir), *map(str, files)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=PROJECT_ROOT,
        )
        watchdog = threading.Timer(CHILD_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            if kill_after_done is None:
                send("go\n" * (len(files) if allowed is None else allowed))
                if kill_after_seconds is not None:
                    time.sleep(kill_after_seconds)
                    proc.send_signal(signal.SIGKILL)
            else:
                lines.append(proc.stdout.readline())  # READY
                for _ in range(min(kill_after_done, len(files))):
                    started = time.perf_counter()
                    send("go\n")
                    lines.append(proc.stdout.readline())
                    if timing is not None and lines[-1].startswith("DONE "):
                        timing.samples.append(time.perf_counter() - started)
                send("go\n")
                time.sleep(kill_fraction * (timing.typical if timing else 0.005))
                proc.send_signal(signal.SIGKILL)
            rest, _ = proc.communicate(timeout=CHILD_TIMEOUT)
        finally:
            watchdog.cancel()
    lines.extend(rest.splitlines(keepends=True))
    done = {line.split(" ", 1)[1].strip() for line in lines if line.startswith("DONE ")}
    return done, proc.returncode, err_path.read_text()


async def check_consistent(data_dir: Path, corpus: CrashCorpus, done_files: set[str], ask_rng: random.Random) -> None:
    """What a restart must find after a kill: the issue's invariants, from the user's side and in sqlite."""
    engine = await Engine.open(settings=hashing_settings(data_dir))
    try:
        stats = await engine.stats()
        with closing(ro_db(data_dir)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            db_ids = sorted(r[0] for r in db.execute("SELECT id FROM passages"))
            orphans = db.execute(
                "SELECT (SELECT COUNT(*) FROM passages WHERE article_id NOT IN (SELECT id FROM articles)),"
                " (SELECT COUNT(*) FROM sentences WHERE passage_id NOT IN (SELECT id FROM passages))"
            ).fetchone()
            unembedded = db.execute(
                "SELECT (SELECT COUNT(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM embeddings e"
                "   WHERE e.text_hash = p.text_hash AND e.model = ?)),"
                " (SELECT COUNT(*) FROM sentences s WHERE NOT EXISTS (SELECT 1 FROM embeddings e"
                "   WHERE e.text_hash = s.text_hash AND e.model = ?))",
                (HASHING_MODEL, HASHING_MODEL),
            ).fetchone()
        # (a) index == database: counts, the engine's index, and the index file on disk
        assert stats.index_vectors == stats.passages == len(db_ids)
        if db_ids:
            index = engine.index_stats()
            assert sorted(index.ids.tolist()) == db_ids
            on_disk = FaissIndex.load(data_dir / INDEX_NAME, index.dim)
            assert on_disk is not None and sorted(on_disk.ids().tolist()) == db_ids
        # (c) nothing half there: no orphans, every text embedded, every article whole
        assert orphans == (0, 0)
        assert unembedded == (0, 0)
        layout = store_layout(data_dir)
        assert set(layout) <= set(corpus.layout), f"unknown articles: {set(layout) - set(corpus.layout)}"
        for origin, shape in layout.items():
            assert shape == corpus.layout[origin], f"{origin} is stored differently from a clean ingest"
        # (b) every file whose ingest returned is there
        expected = {o for name in done_files for o in corpus.origins[name]}
        assert expected <= set(layout), f"ingest returned but the articles are missing: {expected - set(layout)}"
        assert stats.articles == len(layout)
        # (d) asking still works: a sentence of a stored article gets that article quoted
        if layout:
            origin = ask_rng.choice(sorted(layout))
            answer = await engine.ask(corpus.questions[origin])
            assert not answer.abstained and origin in [q.article.origin for q in answer.answers]
            await assert_quotes_verbatim(engine, answer)
        else:
            assert (await engine.ask("what happened at the harbour")).abstained
    finally:
        await engine.close()


async def test_sigkill_during_ingest_20_times_leaves_a_consistent_store(
    tmp_path: Path, crash_corpus: CrashCorpus, caplog: pytest.LogCaptureFixture
):
    script = tmp_path / "ingest_child.py"
    script.write_text(CHILD_SCRIPT)
    data_dir = tmp_path / "shared-data"
    rng = random.Random(20240605)
    done_files: set[str] = set()
    timing = IngestTiming()
    killed = mid_write = 0
    unreturned: set[str] = set()
    caplog.set_level(logging.WARNING, logger="index.indexes")
    for run in range(20):
        pending = [f for f in crash_corpus.files if f.name not in done_files]
        rng.shuffle(pending)
        # files already in go last: re-ingesting them (duplicates) is on the killed path too
        order = pending + [f for f in crash_corpus.files if f.name in done_files]
        if rng.random() < 0.25:  # anywhere from start-up (opening, repairing the index) on
            done, code, err = run_child(
                script, data_dir, order, kill_after_seconds=rng.uniform(0.5, 0.9), allowed=rng.randint(1, 2)
            )
        else:
            done, code, err = run_child(
                script, data_dir, order, kill_after_done=rng.randint(0, 1), kill_fraction=rng.uniform(0, 1.3), timing=timing
            )
        assert code in (-signal.SIGKILL, 0), f"run {run}: child failed with {code}:\n{err}"
        killed += code == -signal.SIGKILL
        done_files |= done
        await check_consistent(data_dir, crash_corpus, done_files, rng)
        returned = {o for name in done_files for o in crash_corpus.origins[name]}
        unreturned_now = set(store_layout(data_dir)) - returned  # committed, but the ingest call never returned
        mid_write += bool(unreturned_now - unreturned)
        unreturned = unreturned_now
    repairs = sum("rebuilding" in r.getMessage() for r in caplog.records)
    # the test means something only if kills landed before ingests finished; where within
    # an ingest they land depends on the machine's load, so landing inside a write at all
    # is only asked once here, and the tests below kill at each write step on purpose
    assert killed >= 15, f"only {killed} of 20 runs were killed before finishing"
    assert len(done_files) >= 5, "too few ingests completed"
    assert repairs + mid_write >= 1, f"kills never caught an ingest mid-write ({repairs} repairs, {mid_write})"


@pytest.mark.parametrize(
    ("kill_at", "file_index", "present"),
    [
        # feed0.jsonl holds several articles; a file is stored in one transaction, so none of them is left
        ("in-transaction:1", 24, 0),
        ("before-index:1", 1, 1),  # a01.txt committed, the index not yet updated
        ("index-written:1", 1, 1),  # a01.txt committed, new index written to .tmp but not renamed
    ],
)
async def test_sigkill_at_each_write_step_is_repaired_on_open(
    tmp_path: Path, crash_corpus: CrashCorpus, kill_at: str, file_index: int, present: int
):
    script = tmp_path / "ingest_child.py"
    script.write_text(CHILD_SCRIPT)
    data_dir = tmp_path / "data"
    first, target = crash_corpus.files[0], crash_corpus.files[file_index]
    engine = await Engine.open(settings=hashing_settings(data_dir))
    await engine.ingest_paths([first])
    await engine.close()
    done, code, err = run_child(script, data_dir, [target], kill_at=kill_at)
    assert code == -signal.SIGKILL, f"the child never reached {kill_at} (exit {code}):\n{err}"
    assert done == set()
    await check_consistent(data_dir, crash_corpus, {first.name}, random.Random(1))
    stored = set(store_layout(data_dir))
    assert stored == {first.name, *crash_corpus.origins[target.name][:present]}
    # ingesting the file again completes it, with nothing twice
    engine = await Engine.open(settings=hashing_settings(data_dir))
    try:
        report = await engine.ingest_paths([target])
        assert (report.articles_added, report.duplicates) == (len(crash_corpus.origins[target.name]) - present, present)
    finally:
        await engine.close()
    await check_consistent(data_dir, crash_corpus, {first.name, target.name}, random.Random(2))


async def test_repair_after_a_kill_in_the_first_ingest_is_not_repeated_on_every_open(
    tmp_path: Path, crash_corpus: CrashCorpus, caplog: pytest.LogCaptureFixture
):
    script = tmp_path / "ingest_child.py"
    script.write_text(CHILD_SCRIPT)
    data_dir = tmp_path / "data"
    first = crash_corpus.files[0]
    _, code, err = run_child(script, data_dir, [first], kill_at="before-index:1")
    assert code == -signal.SIGKILL, err
    await check_consistent(data_dir, crash_corpus, set(), random.Random(3))  # opens and repairs once
    engine = await Engine.open(settings=hashing_settings(data_dir))
    await engine.ingest_paths([crash_corpus.files[1]])
    await engine.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="index.indexes"):
        engine = await Engine.open(settings=hashing_settings(data_dir))
        await engine.close()
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()], "the index was rebuilt again"


# --- 2. malformed uploads -------------------------------------------------------------

MAX_FILE_BYTES = 20_000
MAX_ARTICLE_CHARS = 10_000

SEED_ARTICLES = [
    {
        "title": "Harbour bridge reopens",
        "date": "2024-03-01",
        "text": "The harbour bridge reopened on Monday after two years of repairs to its steel cables, "
        "and the first buses crossed it at dawn.\n\nEngineers replaced every cable and repainted the towers.",
    },
    {
        "title": "Orchard harvest record",
        "date": "2024-09-10",
        "text": "Apple growers in the valley picked a record harvest this autumn thanks to a mild spring "
        "and a dry, warm summer.\n\nPrices for cider apples fell as a result of the glut.",
    },
]


@pytest.fixture
async def upload_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An engine with two articles and small limits; the working directory is inside tmp_path,
    so a name used as a relative path would show up in the listing."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    settings = hashing_settings(tmp_path / "data")
    settings = replace(
        settings, corpus=replace(settings.corpus, max_file_bytes=MAX_FILE_BYTES, max_article_chars=MAX_ARTICLE_CHARS)
    )
    engine = await Engine.open(settings=settings)
    report = await engine.ingest_paths([write_jsonl(tmp_path / "seed.jsonl", SEED_ARTICLES)])
    assert report.articles_added == 2
    yield engine
    await engine.close()


async def snapshot(engine: Engine, root: Path) -> tuple:
    return db_counts(engine.settings.storage.data_dir), (await engine.stats()).index_vectors, listing(root)


async def assert_refused_cleanly(engine: Engine, root: Path, data: bytes, name: str, marker: str | None = None):
    before = await snapshot(engine, root)
    report = await engine.ingest_document(data, name, scope="123", strict=True)
    assert report.refused and report.articles_added == 0 and report.passages_added == 0, report
    for problem in report.problems:
        message = str(problem)
        assert one_line(message), f"message is not one line: {message!r}"
        assert len(problem.reason.strip()) >= 10, f"reason too terse: {message!r}"
        assert (marker or display_name(name)) in message, f"message does not name the file: {message!r}"
    assert await snapshot(engine, root) == before, "a refused file changed the store or wrote a file"
    return report


def _deep_html() -> bytes:
    return b"<html><body>" + b"<div>" * 3_000 + b"</span>" * 100 + b"<p"


MALFORMED: dict[str, tuple[bytes, str]] = {
    # name -> (content, a word the reason should contain)
    "random.txt": (random.Random(1).randbytes(4_000), "binary"),
    "image.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(2).randbytes(500), "binary"),
    "nuls.jsonl": (b'{"title": "a\x00b", "text": "text\x00 with NUL"}\n', "NUL"),
    "zero.txt": (b"", "empty"),
    "blank.md": (b"  \n\n\t \r\n", "empty"),
    "blank-lines.jsonl": (b"\n\n   \n", "empty"),
    "huge.txt": (b"word " * (MAX_FILE_BYTES // 5 + 1), "limit"),
    "huge-line.jsonl": (b'{"text": "' + b"a" * MAX_FILE_BYTES + b'"}\n', "limit"),
    "long-article.txt": (b"Long one\n\n" + b"Words go on and on. " * 600, "limit"),
    "latin1.txt": ("Caf\u00e9 soci\u00e9t\u00e9: le ma\u00eetre a parl\u00e9.".encode("latin-1"), "UTF-8"),
    "utf16.txt": ("\ufeffThe harbour bridge reopened on Monday.".encode("utf-16"), "NUL"),
    "utf16.jsonl": (json.dumps({"text": "The harbour bridge reopened."}).encode("utf-16"), "NUL"),
    "surrogate-bytes.txt": (b"The bridge \xed\xa0\x80 reopened on Monday.", "UTF-8"),
    "overlong.md": (b"---\ntitle: x\n---\nBody \xc0\xaf text.", "UTF-8"),
    "truncated-utf8.txt": ("The caf\u00e9".encode()[:-1], "UTF-8"),
    "escape-codes.txt": (b"Headline\n\nThe bridge \x1b[2J\x1b[31mreopened\x07 on Monday.", "control"),
    "script-only.html": (b"<html><head><title>x</title></head><body><script>alert(1)</script></body></html>", "text"),
    "angle-soup.html": (b"<" * 3_000 + b">" * 3_000, "text"),
    "unclosed-comment.htm": (b"<html><body><!-- never closed <p>hidden text here</p>", "text"),
    "deep-tags.html": (_deep_html(), "text"),
    "number-title.jsonl": (b'{"title": 42, "text": "The bridge reopened on Monday."}\n', "title"),
    "list-text.jsonl": (b'{"title": "Bridge", "text": ["The bridge", "reopened"]}\n', "text"),
    "object-text.jsonl": (b'{"title": "Bridge", "text": {"body": {"p": "The bridge reopened."}}}\n', "text"),
    "null-text.jsonl": (b'{"title": "Bridge", "text": null}\n', "text"),
    "bool-text.jsonl": (b'{"text": true}\n', "text"),
    "nested-title.jsonl": (b'{"title": {"en": "Bridge"}, "text": "The bridge reopened on Monday."}\n', "title"),
    "list-source.jsonl": (b'{"source": ["AP", "Reuters"], "text": "The bridge reopened on Monday."}\n', "source"),
    "number-date.jsonl": (b'{"date": 20240301, "text": "The bridge reopened on Monday."}\n', "date"),
    "nan-date.jsonl": (b'{"date": NaN, "text": "The bridge reopened on Monday."}\n', "date"),
    "bad-date.jsonl": (b'{"date": "2024-02-30", "text": "The bridge reopened on Monday."}\n', "date"),
    "array-line.jsonl": (b'["The bridge reopened on Monday."]\n', "object"),
    "string-line.jsonl": (b'"The bridge reopened on Monday."\n', "object"),
    "truncated.jsonl": (b'{"title": "Bridge", "text": "The bridge reop', "JSON"),
    "trailing-comma.jsonl": (b'{"text": "The bridge reopened on Monday.",}\n', "JSON"),
    "one-bad-line.jsonl": (b'{"text": "The bridge reopened on Monday."}\n{"text": 7}\n', "text"),
    "bad-yaml.md": (b"---\ntitle: [unclosed\n---\nThe bridge reopened on Monday.\n", "YAML"),
    "yaml-list-title.md": (b"---\ntitle:\n  - a\n  - b\n---\nThe bridge reopened on Monday.\n", "title"),
    "yaml-python-tag.md": (
        b'---\ntitle: !!python/object/apply:os.system ["touch pwned-by-yaml"]\n---\nThe bridge reopened.\n',
        "YAML",
    ),
    "yaml-surrogate.md": (b'---\ntitle: "bridge \\ud800"\n---\nThe bridge reopened on Monday.\n', "surrogate"),
    "yaml-only.md": (b"---\ntitle: Bridge\n---\n\n   \n", "text"),
    "yaml-bad-date.md": (b"---\ndate: tomorrow\n---\nThe bridge reopened on Monday.\n", "date"),
    "report.pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "unsupported"),
    "no-suffix": (b"The bridge reopened on Monday.", "unsupported"),
    "archive.tar.gz": (b"\x1f\x8b\x08\x00" + bytes(50), "unsupported"),
    "notes.txt.exe": (b"MZ\x90\x00", "unsupported"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_upload_is_refused_with_a_clear_message(upload_engine: Engine, tmp_path: Path, name: str):
    data, word = MALFORMED[name]
    report = await assert_refused_cleanly(upload_engine, tmp_path, data, name)
    assert any(word.lower() in p.reason.lower() for p in report.problems), report.problems
    assert not list(tmp_path.rglob("pwned*"))


HOSTILE_NAMES = [
    "../../escape-upload1.txt",
    "..\\..\\escape-upload2.txt",
    "/tmp/escape-upload3.txt",
    "data/../../escape-upload4.jsonl",
    "\x1b[31mescape-upload5\x1b[0m.md",
    "escape-upload6\x00.txt",
    "escape-upload7\u202etxt.html",
    "escape-upload8" + "x" * 1_000 + ".txt",
    "./escape-upload9/../../../escape-upload9.txt",
    "CON-escape-upload10.txt",
]


def assert_no_file_named(name: str, engine: Engine, tmp_path: Path) -> None:
    """Nothing exists where the name, taken as a path, would point (from the working folder or the data folder)."""
    for base in (Path.cwd(), engine.settings.storage.data_dir):
        assert not os.path.lexists(os.path.join(base, name.replace("\x00", ""))), f"{name!r} was written under {base}"
    assert not [p for p in tmp_path.parent.glob("*escape-upload*")], "a file escaped the test folder"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_file_name_with_bad_content_is_refused_and_never_a_path(
    upload_engine: Engine, tmp_path: Path, name: str
):
    await assert_refused_cleanly(upload_engine, tmp_path, b"junk\x00\x01\x02", name)
    await assert_refused_cleanly(upload_engine, tmp_path, b"", name)
    assert_no_file_named(name, upload_engine, tmp_path)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_file_name_with_good_content_writes_no_file(upload_engine: Engine, tmp_path: Path, name: str):
    data_dir = upload_engine.settings.storage.data_dir
    before = set(listing(tmp_path))
    body = f"Ferry timetable {len(name)}\n\nThe winter ferry timetable starts next week, the harbour office said."
    jsonl = json.dumps({"text": body}) + "\n"
    content = {".jsonl": jsonl, ".html": f"<html><body><article><p>{body}</p></article></body></html>"}
    suffix = next((s for s in content if name.endswith(s)), None)
    report = await upload_engine.ingest_document(content.get(suffix, body).encode(), name, scope="123", strict=True)
    assert all(one_line(str(p)) for p in report.problems)
    assert report.refused or report.articles_added == 1
    assert set(listing(tmp_path)) == before, "ingesting wrote a file"
    assert_no_file_named(name, upload_engine, tmp_path)
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(
        ["newsdesk.db", "newsdesk.db-wal", "newsdesk.db-shm", "vectors.faiss"]
    )
    if report.articles_added:
        (article,) = [a for a in await upload_engine.articles(scopes=["123"])]
        await assert_passages_verbatim(upload_engine, [article.id])


# Input that once crashed the reader or cut a quote short.


@pytest.mark.parametrize("content", ["\u00a0\u00a0\n", "\u3000\n\u3000", "\x85"])
async def test_txt_of_unicode_white_space_only_is_refused(upload_engine: Engine, tmp_path: Path, content: str):
    await assert_refused_cleanly(upload_engine, tmp_path, content.encode(), "spaces.txt")


@pytest.mark.parametrize(
    "line",
    [
        b'{"text": "Ministers met on Monday \\ud800 to agree the budget."}',
        b'{"title": "Budget \\udfff", "text": "Ministers met on Monday to agree the budget."}',
    ],
)
async def test_jsonl_with_lone_surrogate_escape_is_handled(upload_engine: Engine, tmp_path: Path, line: bytes):
    before = await snapshot(upload_engine, tmp_path)
    report = await upload_engine.ingest_document(line + b"\n", "surrogate.jsonl", scope="123", strict=True)
    if report.refused:
        assert all("surrogate.jsonl" in str(p) and one_line(str(p)) for p in report.problems)
        assert await snapshot(upload_engine, tmp_path) == before
    else:
        (article,) = await upload_engine.articles(scopes=["123"])
        await assert_passages_verbatim(upload_engine, [article.id])


@pytest.mark.parametrize(
    "line",
    [b"[" * 5_000, b'{"text": "The bridge reopened.", "x": ' + b"[" * 9_000 + b"]" * 9_000 + b"}"],
    ids=["open-arrays", "nested-field"],
)
async def test_deeply_nested_jsonl_line_is_refused(upload_engine: Engine, tmp_path: Path, line: bytes):
    await assert_refused_cleanly(upload_engine, tmp_path, line + b"\n", "deep.jsonl")


async def test_jsonl_text_with_escaped_nul_is_refused_or_quoted_verbatim(upload_engine: Engine, tmp_path: Path):
    data = b'{"text": "Alpha beta\\u0000gamma. The harbour ferry restarted its winter timetable on Monday."}\n'
    before = await snapshot(upload_engine, tmp_path)
    report = await upload_engine.ingest_document(data, "nul-escape.jsonl", scope="123", strict=True)
    if report.refused:
        assert await snapshot(upload_engine, tmp_path) == before
        return
    (article,) = await upload_engine.articles(scopes=["123"])
    await assert_passages_verbatim(upload_engine, [article.id])
    answer = await upload_engine.ask("harbour ferry winter timetable restarted", scopes=["123"])
    assert answer.answers
    await assert_quotes_verbatim(upload_engine, answer)


@pytest.mark.parametrize("name", ["upload\nAll 50 articles added.txt", "upload\r\nok.jsonl"])
async def test_message_stays_one_line_for_names_with_line_breaks(upload_engine: Engine, tmp_path: Path, name: str):
    await assert_refused_cleanly(upload_engine, tmp_path, b"junk\x00", name, marker="upload")


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
async def test_valid_file_with_a_long_name_is_ingested(upload_engine: Engine, suffix: str):
    name = "2024-05-01-" + "council-approves-new-ferry-terminal-after-a-long-debate-" * 3 + "final" + suffix
    body = "Ferry terminal approved\n\nThe harbour council approved the new ferry terminal on Tuesday."
    data = (json.dumps({"text": body}) + "\n" if suffix == ".jsonl" else body).encode()
    report = await upload_engine.ingest_document(data, name, scope="123", strict=True)
    assert report.problems == [] and report.articles_added == 1


DEEP_YAML_CHILD = r"""
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.helpers import hashing_settings
from index import Engine

async def main():
    engine = await Engine.open(settings=hashing_settings(Path(sys.argv[2])))
    # 40,000 levels (an 80 kB upload) overflowed the C stack of PyYAML's C loader;
    # 7,000 levels (14 kB) stay under any cap on the front matter's size and reach the parser.
    for n in (40_000, 7_000):
        data = b"---\ntitle: " + b"[" * n + b"]" * n + b"\n---\nThe bridge reopened on Monday.\n"
        report = await engine.ingest_document(data, "deep.md", scope="123", strict=True)
        print("REFUSED" if report.refused else "ADDED", *map(str, report.problems), flush=True)
    await engine.close()

asyncio.run(main())
"""


def test_deeply_nested_front_matter_does_not_kill_the_process(tmp_path: Path):
    script = tmp_path / "deep_yaml.py"
    script.write_text(DEEP_YAML_CHILD)
    proc = subprocess.run(
        [sys.executable, str(script), str(PROJECT_ROOT), str(tmp_path / "data")],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=PROJECT_ROOT,
    )
    assert proc.returncode == 0, f"the process died with {proc.returncode}: {proc.stderr[-500:]}"
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("REFUSED deep.md: ") for line in lines), proc.stdout


# A seeded fuzz of mutated uploads: each is either ingested cleanly or refused cleanly.

FUZZ_BODY = (
    "The harbour council approved the new ferry terminal on Tuesday after a long debate about costs. "
    "Work will start in the spring, and the terminal should open within two years.\n\n"
    "Residents near the quay said they worried about traffic, but shop owners welcomed the plan."
)
FUZZ_BASES = {
    ".jsonl": (
        json.dumps({"title": "Ferry terminal approved", "date": "2024-04-02", "source": "Quay Post", "text": FUZZ_BODY})
        + "\n"
        + json.dumps({"title": "Quay traffic", "text": FUZZ_BODY.split("\n\n")[1] + " The council promised a study."})
        + "\n"
    ).encode(),
    ".md": f"---\ntitle: Ferry terminal approved\ndate: 2024-04-02\nsource: Quay Post\n---\n{FUZZ_BODY}\n".encode(),
    ".html": (
        "<html><head><title>Ferry terminal approved | Quay Post</title>"
        '<meta name="date" content="2024-04-02"></head><body><nav>Home | News</nav><article>'
        "<h1>Ferry terminal approved</h1>" + "".join(f"<p>{p}</p>" for p in FUZZ_BODY.split("\n\n")) + "</article></body></html>"
    ).encode(),
    ".txt": f"Ferry terminal approved\n\n{FUZZ_BODY}\n\nQuay Post\n".encode(),
}
FUZZ_TOKENS = [
    b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\", b"null", b"123", b"---\n", b"\n\n", b"\r", b"\t", b"<", b">",
    b"</p>", b"<p>", b"<!--", b"&amp;", b"&#0;", b"\xff", b"\xc3", b"\xe2\x80\xae", b"\xf0\x9f\x94\xa5", b"\x00",
    b"\x1b", b"title: ", b'"text": ', b"#",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 2:
            del b[pos : pos + rng.randint(1, 60)]
        elif op == 3:
            b[pos:pos] = rng.choice(FUZZ_TOKENS)
        elif op == 4 and rng.random() < 0.3:
            del b[pos:]
        elif op == 5:
            chunk = b[pos : pos + rng.randint(1, 200)]
            at = rng.randrange(len(b) + 1)
            b[at:at] = chunk
        elif op == 6:
            b[pos:pos] = rng.choice(FUZZ_TOKENS) * rng.randint(2, 50)
    return bytes(b)


async def test_fuzzed_uploads_are_ingested_or_refused_cleanly(upload_engine: Engine, tmp_path: Path):
    engine = upload_engine
    data_dir = engine.settings.storage.data_dir
    rng = random.Random(99)
    outcomes = {"added": 0, "duplicate": 0, "refused": 0}
    for case in range(200):
        suffix = rng.choice(list(FUZZ_BASES))
        data = mutate(rng, FUZZ_BASES[suffix])
        if rng.random() < 0.1:  # the name and the format disagree
            suffix = rng.choice(list(FUZZ_BASES))
        name = rng.choice(["", "../", "..\\", "\x1b[1m", "\u202e", "./a/../"]) + f"fuzz{case}{suffix}"
        before_counts, before_index, before_files = await snapshot(engine, tmp_path)
        with closing(ro_db(data_dir)) as db:
            (max_id,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM articles").fetchone()
        try:
            report = await engine.ingest_document(data, name, scope="123", strict=True)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"case {case}: ingest_document({name!r}) raised {exc!r} on {data[:200]!r}")
        after_counts, after_index, after_files = await snapshot(engine, tmp_path)
        assert after_files == before_files, f"case {case}: files changed"
        assert after_index == after_counts["passages"], f"case {case}: index out of step"
        if report.problems:
            outcomes["refused"] += 1
            assert report.refused and report.articles_added == 0, f"case {case}: {report}"
            assert (after_counts, after_index) == (before_counts, before_index), f"case {case}: refused but changed"
            for problem in report.problems:
                assert one_line(str(problem)) and f"fuzz{case}" in str(problem), f"case {case}: {problem!s:.200}"
            continue
        assert report.articles_added + report.duplicates >= 1, f"case {case}: neither added nor refused: {report}"
        if not report.articles_added:
            outcomes["duplicate"] += 1
            assert after_counts == before_counts
            continue
        outcomes["added"] += 1
        assert after_counts["articles"] == before_counts["articles"] + report.articles_added
        assert after_counts["passages"] == before_counts["passages"] + report.passages_added
        with closing(ro_db(data_dir)) as db:
            new = [r[0] for r in db.execute("SELECT id FROM articles WHERE id > ? ORDER BY id", (max_id,))]
        assert len(new) == report.articles_added
        await assert_passages_verbatim(engine, new)
        words = (await engine.article(new[0])).text.split()[:12]
        try:
            answer = await engine.ask(" ".join(words), scopes=["123"])
        except QuestionError:
            continue
        await assert_quotes_verbatim(engine, answer)
    # the fuzz must exercise both paths to mean anything
    assert outcomes["added"] >= 20 and outcomes["refused"] >= 20, outcomes
    assert (await engine.stats()).articles == db_counts(data_dir)["articles"]


# --- 3. hostile questions and SQL -----------------------------------------------------

HOSTILE_QUESTIONS = [
    "'; DROP TABLE articles; --",
    "\" OR 1=1 --",
    "bridge'); DELETE FROM passages; --",
    "1; UPDATE articles SET text = 'pwned'",
    "%' OR title LIKE '%",
    "\U0001f525\U0001f525\U0001f30d\U0001f440",
    "\U0001f1fa\U0001f1e6\u200d\U0001f469\u200d\U0001f4bb",
    "@everyone <@123> <@&456> <#789> what about the bridge?",
    "@here did the harbour bridge reopen?",
    "bridge\x00 reopened\x07 \x1b[2J on\x08 Monday\x7f?",
    "\u202ewhen did the bridge reopen\u202c \u2066isolated\u2069 \u200f",
    "\u200b\u200b\u200b",
    "\x00\x00\x00",
    "harbour \ud800 bridge",
    "```bridge``` **reopened** ||spoiler|| [link](http://example.org)",
    "\\x00 \\n \\' UNION SELECT * FROM meta --",
]


@pytest.fixture
async def qa_engine(tmp_path: Path):
    engine = await Engine.open(settings=hashing_settings(tmp_path / "data"))
    await engine.ingest_paths([write_jsonl(tmp_path / "seed.jsonl", SEED_ARTICLES)])
    await engine.ingest_document(
        json.dumps({"title": "Ferry timetable", "text": FUZZ_BODY}).encode(), "server.jsonl", scope="111"
    )
    yield engine
    await engine.close()


def table_snapshot(data_dir: Path) -> tuple:
    with closing(ro_db(data_dir)) as db:
        tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        rows = db.execute("SELECT id, scope, title, text FROM articles ORDER BY id").fetchall()
        return tables, rows, db_counts(data_dir)


async def test_hostile_questions_are_answered_or_refused_and_change_nothing(qa_engine: Engine):
    data_dir = qa_engine.settings.storage.data_dir
    before = table_snapshot(data_dir)
    assert len(before[1]) == 3
    for question in HOSTILE_QUESTIONS:
        for scopes in (None, ["global"], ["global", "111"], [question]):
            try:
                answer = await qa_engine.ask(question, scopes=scopes)
            except QuestionError as exc:
                assert one_line(str(exc)) and len(str(exc)) > 10, repr(str(exc))
                continue
            assert isinstance(answer, Answer)
            await assert_quotes_verbatim(qa_engine, answer)
            if scopes == [question]:  # a scope no server has: nothing to quote
                assert answer.abstained and not answer.answers and not answer.closest
        try:
            assert await qa_engine.search_articles(question, scopes=[question]) == []
        except QuestionError as exc:
            assert one_line(str(exc))
    assert table_snapshot(data_dir) == before


async def test_injection_through_scopes_titles_and_ids_finds_and_removes_nothing(qa_engine: Engine):
    data_dir = qa_engine.settings.storage.data_dir
    before = table_snapshot(data_dir)
    injected = ["' OR 1=1 --", "global' OR '1'='1", "111\" OR \"\"=\"", "%", "_", "\\"]
    assert await qa_engine.articles(scopes=injected) == []
    for pattern in ["%", "_", "' OR 1=1 --", "%' OR '1'='1", "\\%", "[a-z]"]:
        assert await qa_engine.articles(title_like=pattern) == [], pattern
    for row_id, *_ in before[1]:
        assert await qa_engine.article(row_id, scopes=injected) is None
        assert not await qa_engine.remove(row_id, scopes=injected)
    assert (await qa_engine.stats(scopes=injected)).articles == 0
    assert table_snapshot(data_dir) == before


async def test_question_length_limit_is_exact_and_explained(qa_engine: Engine):
    limit = qa_engine.settings.question.max_chars
    words = ("did the harbour bridge reopen after repairs " * (limit // 10 + 10)).split()
    at_limit = ""
    for word in words:
        if len(at_limit) + 1 + len(word) > limit:
            break
        at_limit = f"{at_limit} {word}".strip()
    at_limit = at_limit + "x" * (limit - len(at_limit))
    assert len(at_limit) == limit
    answer = await qa_engine.ask(at_limit)
    assert isinstance(answer, Answer)
    await assert_quotes_verbatim(qa_engine, answer)
    for too_long in (at_limit + "y", "why " * 50_000, "x" * 1_000_000):
        with pytest.raises(QuestionError) as raised:
            await qa_engine.ask(too_long)
        message = str(raised.value)
        assert one_line(message) and f"{limit:,}" in message and "limit" in message, message
    # white space does not count against the limit, and white space alone is an empty question
    assert isinstance(await qa_engine.ask("  \n\t ".join(at_limit.split(" "))), Answer)
    with pytest.raises(QuestionError, match="empty"):
        await qa_engine.ask(" \n\t\r " * 10_000)


# Static check: SQL text is only ever literals, placeholders and fixed fragments.

SQL_METHODS = {"execute", "executemany", "executescript"}


def _is_const_strs(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_const_strs(e) for e in node.elts)
    return False


def _own_nodes(scope: ast.AST):
    """Nodes of a function or module body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


class SqlChecker:
    """Flags SQL passed to execute*() that interpolates anything but placeholders or fixed text.

    Allowed in SQL: string literals; f-strings and `+` of allowed parts; the placeholder list
    `','.join('?' * len(x))`; module-level string constants; names bound only to allowed
    SQL, to the clause of `_scope_clause(...)`, or by a for loop over a literal table.
    """

    def __init__(self, source: str, filename: str):
        self.tree = ast.parse(source, filename)
        self.filename = filename
        self.module_consts = set()
        for node in self.tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(target, ast.Name) and node.value is not None:
                if _is_const_strs(node.value):
                    self.module_consts.add(target.id)
        self.calls_checked = 0

    def _bindings(self, func: ast.AST, trusted: set[str]) -> dict[str, list[tuple]]:
        bindings: dict[str, list[tuple]] = {}

        def bind(target: ast.AST, kind: tuple) -> None:
            if isinstance(target, ast.Name):
                bindings.setdefault(target.id, []).append(kind)
            elif isinstance(target, (ast.Tuple, ast.List)):
                for elt in target.elts:
                    bind(elt, ("other",))

        def bind_value(target: ast.AST, value: ast.AST) -> None:
            if isinstance(target, (ast.Tuple, ast.List)):
                is_scope_clause = (
                    isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "_scope_clause"
                )
                for i, elt in enumerate(target.elts):
                    safe = is_scope_clause and i == 0
                    bind(elt, ("value", ast.Constant("")) if safe else ("other",))
            else:
                bind(target, ("value", value))

        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = func.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    kind = ("value", ast.Constant("")) if arg.arg in trusted else ("other",)
                    bindings.setdefault(arg.arg, []).append(kind)
        for node in _own_nodes(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    bind_value(target, node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                bind_value(node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                bind(node.target, ("value", node.value) if isinstance(node.op, ast.Add) else ("other",))
            elif isinstance(node, ast.NamedExpr):
                bind(node.target, ("value", node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self._bind_for(node, bind)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        bind(item.optional_vars, ("other",))
        return bindings

    def _bind_for(self, node: ast.For, bind) -> None:
        target, it = node.target, node.iter
        safe: list[bool]
        elts = target.elts if isinstance(target, ast.Tuple) else [target]
        if isinstance(it, (ast.Tuple, ast.List)) and all(_is_const_strs(e) for e in it.elts):
            safe = [True] * len(elts)  # a literal table of fixed strings
        elif (
            isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "enumerate"
            and isinstance(target, ast.Tuple) and len(elts) == 2 and it.args
        ):
            source = it.args[0].value if isinstance(it.args[0], ast.Subscript) else it.args[0]
            safe = [True, isinstance(source, ast.Name) and source.id in self.module_consts]
        else:
            safe = [False] * len(elts)
        for elt, ok in zip(elts, safe):
            if isinstance(elt, ast.Name):
                bind(elt, ("value", ast.Constant("")) if ok else ("other",))

    def _safe(self, node: ast.AST, bindings: dict, seen: frozenset = frozenset()) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.JoinedStr):
            return all(
                isinstance(v, ast.Constant)
                or (v.conversion == -1 and v.format_spec is None and self._safe_fragment(v.value, bindings, seen))
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._safe(node.left, bindings, seen) and self._safe(node.right, bindings, seen)
        if isinstance(node, ast.Name):
            if node.id in seen:
                return True  # e.g. `sql += ...`: the other bindings are checked on their own
            kinds = bindings.get(node.id)
            if not kinds:
                return node.id in self.module_consts
            return all(k[0] == "value" and self._safe(k[1], bindings, seen | {node.id}) for k in kinds)
        return False

    def _safe_fragment(self, node: ast.AST, bindings: dict, seen: frozenset) -> bool:
        # ','.join('?' * len(x)): only question marks and commas
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and isinstance(node.func.value, ast.Constant) and node.func.value.value.strip() in (",", "")
            and len(node.args) == 1 and isinstance(node.args[0], ast.BinOp) and isinstance(node.args[0].op, ast.Mult)
            and isinstance(node.args[0].left, ast.Constant) and node.args[0].left.value == "?"
        ):
            return True
        return self._safe(node, bindings, seen)

    def violations(self) -> list[str]:
        found = []
        scopes = [self.tree] + [n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for scope in scopes:
            name = getattr(scope, "name", "<module>")
            bindings = self._bindings(scope, {"column"} if name == "_scope_clause" else set())
            for node in _own_nodes(scope):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in SQL_METHODS:
                    self.calls_checked += 1
                    if not node.args or not self._safe(node.args[0], bindings):
                        found.append(f"{self.filename}:{node.lineno} {name}: {ast.unparse(node.args[0]) if node.args else '?'}")
                elif isinstance(func, ast.Name) and func.id == "_scope_clause":
                    extra = node.args[1:] + [k.value for k in node.keywords]
                    if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in extra):
                        found.append(f"{self.filename}:{node.lineno} {name}: _scope_clause with a non-literal column")
            if name == "_scope_clause":
                for ret in (n for n in _own_nodes(scope) if isinstance(n, ast.Return)):
                    value = ret.value
                    if not (isinstance(value, ast.Tuple) and self._safe(value.elts[0], bindings)):
                        found.append(f"{self.filename}:{ret.lineno} _scope_clause returns a clause built from input")
        return found


def test_sql_checker_flags_interpolated_sql():
    bad = {
        "f-string value": "async def f(db, title):\n    await db.execute(f\"SELECT 1 FROM t WHERE title = '{title}'\")",
        "percent": "def f(db, x):\n    db.execute('SELECT * FROM t WHERE id = %s' % x)",
        "format": "def f(db, x):\n    db.execute('SELECT * FROM t WHERE id = {}'.format(x))",
        "concatenated": "def f(db, name):\n    sql = 'SELECT * FROM t WHERE a = ' + name\n    db.execute(sql)",
        "augmented": "def f(db, name):\n    sql = 'SELECT 1'\n    sql += name\n    db.executemany(sql, [])",
        "repr": "def f(db, x):\n    db.execute(f'SELECT {x!r}')",
        "join of input": "def f(db, xs):\n    db.execute(f\"SELECT * FROM t WHERE id IN ({','.join(xs)})\")",
        "scope column": "def f(db, c):\n    clause, p = _scope_clause(None, c)\n    db.execute(f'SELECT 1 WHERE {clause}', p)",
    }
    for label, source in bad.items():
        assert SqlChecker(source, label).violations(), f"the checker missed: {label}"
    good = (
        "COLS = 'a, b'\n"
        "def f(db, ids, scopes):\n"
        "    clause, params = _scope_clause(scopes)\n"
        "    clause += ' AND x = ?'\n"
        "    sql = f\"SELECT {COLS} FROM t WHERE {clause} AND id IN ({','.join('?' * len(ids))})\"\n"
        "    for table, col in (('t1', 'c1'), ('t2', 'c2')):\n"
        "        db.execute(f'SELECT {col} FROM {table}')\n"
        "    db.execute(sql + ' LIMIT ?', [*params, *ids, 3])\n"
    )
    assert SqlChecker(good, "good").violations() == []


def test_all_sql_in_index_is_parameterised():
    checked, problems = 0, []
    for path in sorted((PROJECT_ROOT / "index").rglob("*.py")):
        checker = SqlChecker(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT)))
        problems += checker.violations()
        checked += checker.calls_checked
    assert checked >= 15, f"only {checked} execute calls found: has the store moved?"
    assert problems == [], "SQL built from something other than placeholders and fixed text:\n" + "\n".join(problems)
