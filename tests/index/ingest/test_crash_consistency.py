"""SIGKILL during ingest (issue 5): the store is consistent after any kill, and repaired once.

The ingesting engine runs in a child process (scripts/ingest_until_killed.py) and is
killed with SIGKILL; the store is then checked from this process, both through the
engine and with sqlite3. Everything uses the instant hashing embedder and fixed seeds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsdesk.index import Engine

from tests.support.engines import PROJECT_ROOT, hashing_settings, saved_index, write_jsonl
from tests.support.faults import CHILD_TIMEOUT, HASHING_MODEL, SCRIPTS, assert_quotes_verbatim, ro_db


# What the child prints as a chunk's write begins, and once its transaction is committed.
WRITE_LINES = ("WRITING", "COMMITTED")

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
    """How long one file's ingest takes in the child, and how long after each WRITE_LINES
    line of the child's first write its DONE comes, so kill delays fall inside ingests, or
    inside first writes."""

    def __init__(self) -> None:
        self.samples: list[float] = [0.005]
        self.to_done: dict[str, list[float]] = {line: [0.005] for line in WRITE_LINES}

    @staticmethod
    def _median(samples: list[float]) -> float:
        return sorted(samples)[len(samples) // 2]

    @property
    def typical(self) -> float:
        return self._median(self.samples)

    def typical_to_done(self, line: str) -> float:
        return self._median(self.to_done[line])


def run_child(
    script: Path,
    data_dir: Path,
    files: list[Path],
    *,
    kill_after_done: int | None = None,
    kill_fraction: float = 0.0,
    kill_after_line: str | None = None,
    timing: IngestTiming | None = None,
    kill_after_seconds: float | None = None,
    allowed: int | None = None,
    kill_at: str = "",
    chunk_chars: int | None = None,
) -> tuple[set[str], int, str]:
    """Run the ingesting child, and perhaps SIGKILL it.

    kill_after_done=k: let k files be ingested one by one, start the next and SIGKILL the
    child `kill_fraction` of a typical ingest later. With kill_after_line (one of
    WRITE_LINES), wait instead for that line of the next write (files stored already write
    nothing, so the next ones are started until one writes) and SIGKILL the child
    `kill_fraction` of the typical time from that line to DONE later: a write is a short
    part of an ingest, which kills timed from its start rarely hit on a loaded machine. The
    times are those of a child's first write (which takes longer than its next): pass
    kill_after_done=0 with it. kill_after_seconds: let it ingest
    `allowed` files (all by default) and SIGKILL it that long after spawning it (in start-up,
    opening, ingesting or waiting). Neither: it runs to the end, or to its KILL_AT point
    where it kills itself. chunk_chars: how many characters of articles it stores at a time.

    Returns:
        (names of the files whose ingest returned, exit code, stderr).
    """
    env = dict(os.environ, KILL_AT=kill_at, CHUNK_CHARS=str(chunk_chars or ""))
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    err_path = data_dir.parent / "child-stderr.txt"
    lines: list[str] = []

    def send(text: str) -> None:
        try:
            proc.stdin.write(text)
            proc.stdin.flush()
        except BrokenPipeError:  # the child died early: its exit code and stderr tell why
            pass

    def next_line(*prefixes: str) -> str:
        """The child's next line starting with one of prefixes, or "" when its output ends."""
        while line := proc.stdout.readline():
            lines.append(line)
            if line.startswith(prefixes):
                return line
        return ""
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
                next_line("READY")
                for done_before in range(min(kill_after_done, len(files))):
                    started = time.perf_counter()
                    send("go\n")
                    seen: dict[str, float] = {}  # write line -> when it first came
                    while (line := next_line(*WRITE_LINES, "DONE ")).startswith(WRITE_LINES):
                        seen.setdefault(line.split()[0], time.perf_counter())
                    if timing is not None and line:
                        now = time.perf_counter()
                        timing.samples.append(now - started)
                        if done_before == 0:
                            for write_line, at in seen.items():
                                timing.to_done[write_line].append(now - at)
                send("go\n")
                if kill_after_line:
                    while next_line(kill_after_line, "DONE ").startswith("DONE "):
                        send("go\n")
                    typical = timing.typical_to_done(kill_after_line) if timing else 0.005
                else:
                    typical = timing.typical if timing else 0.005
                time.sleep(kill_fraction * typical)
                proc.send_signal(signal.SIGKILL)
            rest, _ = proc.communicate(timeout=CHILD_TIMEOUT)
        finally:
            watchdog.cancel()
    lines.extend(rest.splitlines(keepends=True))
    done = {line.split(" ", 1)[1].strip() for line in lines if line.startswith("DONE ")}
    return done, proc.returncode, err_path.read_text()


async def check_consistent(data_dir: Path, corpus: CrashCorpus, done_files: set[str], ask_rng: random.Random) -> None:
    """What a restart must find after a kill: the issue's invariants, from the user's side and in sqlite."""
    settings = hashing_settings(data_dir)
    engine = await Engine.open(settings=settings)
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
        # (a) index == database: counts, and the index file on disk (opening loaded it, or rebuilt and saved it)
        assert stats.index_vectors == stats.passages == len(db_ids)
        if db_ids:
            on_disk = saved_index(settings)
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
    script = SCRIPTS / "ingest_until_killed.py"
    data_dir = tmp_path / "shared-data"
    rng = random.Random(20240605)
    done_files: set[str] = set()
    timing = IngestTiming()
    killed = mid_write = 0
    unreturned: set[str] = set()
    caplog.set_level(logging.WARNING, logger="newsdesk.index.search.indexes")
    # Where kills land: anywhere from start-up (opening, repairing the index) on; within an
    # ingest (reading, embedding, writing), timed from its start; within a write, timed from
    # its start (its transaction, then the index update and save) or from its commit (the
    # index update and save), to just after it returns. A write is a short part of an ingest,
    # so the kills timed from an ingest's start rarely land in one on a loaded machine, where
    # a commit may also take most of a write: half the kills aim at writes, half of those
    # after the commit. The kinds are drawn up front, so that each gets its share.
    kinds = ["start-up"] * 5 + ["ingest"] * 5 + ["WRITING"] * 5 + ["COMMITTED"] * 5
    rng.shuffle(kinds)
    for run, kind in enumerate(kinds):
        pending = [f for f in crash_corpus.files if f.name not in done_files]
        rng.shuffle(pending)
        # files already in go last: re-ingesting them (duplicates) is on the killed path too
        order = pending + [f for f in crash_corpus.files if f.name in done_files]
        if kind == "start-up":
            done, code, err = run_child(
                script, data_dir, order, kill_after_seconds=rng.uniform(0.5, 0.9), allowed=rng.randint(1, 2)
            )
        elif kind == "ingest":  # after one or two ingests, the first of which is timed
            done, code, err = run_child(
                script, data_dir, order, kill_after_done=rng.randint(1, 2), kill_fraction=rng.uniform(0, 1.3), timing=timing
            )
        else:  # in the child's first write, which is the one timed
            done, code, err = run_child(
                script, data_dir, order, kill_after_done=0, kill_fraction=rng.uniform(0, 1.1), kill_after_line=kind, timing=timing
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
    # the test means something only if kills landed before ingests finished, and some inside
    # writes (those aimed at them); the tests below kill at each write step on purpose
    assert killed >= 15, f"only {killed} of 20 runs were killed before finishing"
    assert len(done_files) >= 5, "too few ingests completed"
    assert repairs + mid_write >= 1, f"kills never caught an ingest mid-write ({repairs} repairs, {mid_write})"


@pytest.mark.parametrize(
    ("kill_at", "file_index", "present", "chunk_chars"),
    [
        # feed0.jsonl holds two articles, which fit in one chunk: a chunk is one transaction, so neither is left
        ("in-transaction:1", 24, 0, None),
        # one article a chunk: the first is committed whole, the kill lands in the second's transaction
        ("in-transaction:2", 24, 1, 1),
        # the first chunk committed and the index not yet updated: the second article was never stored
        ("before-index:1", 24, 1, 1),
        ("before-index:1", 1, 1, None),  # a01.txt committed, the index not yet updated
        ("index-written:1", 1, 1, None),  # a01.txt committed, new index written to .tmp but not renamed
    ],
)
async def test_sigkill_at_each_write_step_is_repaired_on_open(
    tmp_path: Path, crash_corpus: CrashCorpus, kill_at: str, file_index: int, present: int, chunk_chars: int | None
):
    script = SCRIPTS / "ingest_until_killed.py"
    data_dir = tmp_path / "data"
    first, target = crash_corpus.files[0], crash_corpus.files[file_index]
    engine = await Engine.open(settings=hashing_settings(data_dir))
    await engine.ingest_paths([first])
    await engine.close()
    done, code, err = run_child(script, data_dir, [target], kill_at=kill_at, chunk_chars=chunk_chars)
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
    script = SCRIPTS / "ingest_until_killed.py"
    data_dir = tmp_path / "data"
    first = crash_corpus.files[0]
    _, code, err = run_child(script, data_dir, [first], kill_at="before-index:1")
    assert code == -signal.SIGKILL, err
    await check_consistent(data_dir, crash_corpus, set(), random.Random(3))  # opens and repairs once
    engine = await Engine.open(settings=hashing_settings(data_dir))
    await engine.ingest_paths([crash_corpus.files[1]])
    await engine.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="newsdesk.index.search.indexes"):
        engine = await Engine.open(settings=hashing_settings(data_dir))
        await engine.close()
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()], "the index was rebuilt again"
