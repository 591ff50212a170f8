"""Malformed and hostile uploads (issue 5): each is ingested cleanly or refused with a clear one-line message."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from newsdesk.index import Engine, QuestionError
from newsdesk.index.ingest.reading import display_name

from tests.support.engines import PROJECT_ROOT, hashing_settings, write_jsonl
from tests.support.faults import (
    CHILD_TIMEOUT,
    FUZZ_BODY,
    SCRIPTS,
    SEED_ARTICLES,
    assert_passages_verbatim,
    assert_quotes_verbatim,
    db_counts,
    listing,
    one_line,
    ro_db,
)
from tests.support.special_files import ALIAS_BOMB, BIG_NUMBER


MAX_FILE_BYTES = 20_000
MAX_ARTICLE_CHARS = 10_000


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
    "alias-bomb.md": (ALIAS_BOMB.read_bytes(), "YAML alias"),
    "big-number.jsonl": (BIG_NUMBER.read_bytes(), "5,000 digits"),
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
        ["newsdesk.db", "newsdesk.db-wal", "newsdesk.db-shm", "vectors.faiss", "vectors.faiss.generation"]
        + ["writer.lock", "writer.json"]  # the engine holds the data folder
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


def test_deeply_nested_front_matter_does_not_kill_the_process(tmp_path: Path):
    script = SCRIPTS / "ingest_deep_front_matter.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(PROJECT_ROOT), str(tmp_path / "data")],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=PROJECT_ROOT,
    )
    assert proc.returncode == 0, f"the process died with {proc.returncode}: {proc.stderr[-500:]}"
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("REFUSED deep.md: ") for line in lines), proc.stdout


# A seeded fuzz of mutated uploads: each is either ingested cleanly or refused cleanly.

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


async def limited_engine(data_dir: Path, **corpus) -> Engine:
    """An engine with small per-server limits (`[corpus]` settings given as keywords)."""
    settings = hashing_settings(data_dir)
    return await Engine.open(settings=replace(settings, corpus=replace(settings.corpus, **corpus)))


def titles_in(engine: Engine, scope: str) -> list[str]:
    with closing(ro_db(engine.settings.storage.data_dir)) as db:
        return [t for (t,) in db.execute("SELECT title FROM articles WHERE scope = ? ORDER BY id", (scope,))]


def numbered_articles(first: int, count: int) -> bytes:
    records = [
        {"title": f"Council note {n}", "text": f"The council published note number {n} about the harbour on Monday."}
        for n in range(first, first + count)
    ]
    return "".join(json.dumps(r) + "\n" for r in records).encode()


async def test_an_upload_over_the_servers_article_limit_is_refused_and_nothing_stored_is_lost(tmp_path: Path):
    engine = await limited_engine(tmp_path / "data", max_articles_per_scope=3)
    try:
        first = await engine.ingest_document(numbered_articles(1, 2), "first.jsonl", scope="123")
        assert first.articles_added == 2 and not first.problems
        # one article already stored and two new ones: three would be over the limit
        report = await engine.ingest_document(numbered_articles(2, 3), "more.jsonl", scope="123")
        assert report.articles_added == 0
        assert [str(p) for p in report.problems] == [
            "more.jsonl: over this server's limit of 3 articles ([corpus] max_articles_per_scope): "
            "it has 2 article(s) stored and this file's new articles add 2"
        ]
        assert titles_in(engine, "123") == ["Council note 1", "Council note 2"]
        # one new article fits
        assert (await engine.ingest_document(numbered_articles(3, 1), "one.jsonl", scope="123")).articles_added == 1
        # another server has its own limit; the operator's global scope has none
        assert (await engine.ingest_document(numbered_articles(1, 3), "other.jsonl", scope="456")).articles_added == 3
        corpus = tmp_path / "corpus.jsonl"
        corpus.write_bytes(numbered_articles(1, 5))
        operator = await engine.ingest_paths([corpus])
        assert operator.articles_added == 5 and not operator.problems
        assert len(titles_in(engine, "global")) == 5
    finally:
        await engine.close()


async def test_an_upload_over_the_servers_byte_limit_is_refused_naming_the_limit(tmp_path: Path):
    engine = await limited_engine(tmp_path / "data", max_bytes_per_scope=100)
    try:
        stored = await engine.ingest_document(numbered_articles(1, 1), "first.jsonl", scope="123")
        assert stored.articles_added == 1  # 64 bytes of text
        report = await engine.ingest_document(numbered_articles(2, 1), "second.jsonl", scope="123")
        assert [str(p) for p in report.problems] == [
            "second.jsonl: over this server's limit of 100 bytes of article text ([corpus] max_bytes_per_scope): "
            "it has 64 bytes stored and this file's new articles add 64 bytes"
        ]
        assert titles_in(engine, "123") == ["Council note 1"]
    finally:
        await engine.close()


async def test_a_feed_over_the_servers_limit_stores_what_fits_and_says_what_did_not(tmp_path: Path):
    engine = await limited_engine(tmp_path / "data", max_articles_per_scope=3)
    try:
        # feeds ingest leniently (strict=False): the entries that fit are taken
        report = await engine.ingest_document(numbered_articles(1, 5), "feed-1.jsonl", scope="123", strict=False)
        assert report.articles_added == 3
        assert [str(p) for p in report.problems] == [
            "feed-1.jsonl: over this server's limit of 3 articles ([corpus] max_articles_per_scope): "
            "it has 0 article(s) stored and this file's new articles add 5; only the first 3 of them were stored"
        ]
        assert titles_in(engine, "123") == ["Council note 1", "Council note 2", "Council note 3"]
    finally:
        await engine.close()
