"""Reading files into articles, and refusing bad ones with a clear reason."""

import json
import os
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from newsdesk.index.ingest.reading import ReadLimits, iter_corpus_files, read_document, read_path

from tests.support.engines import SEED_ARTICLE
from tests.support.special_files import ALIAS_BOMB, BIG_NUMBER, ESCAPED_NAMES, pipe_with_a_waiting_writer

LIMITS = ReadLimits(max_file_bytes=10_000, max_article_chars=5_000)


def read(name: str, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return read_document(data, name, LIMITS)


def test_txt_headline_becomes_title_and_agency_line_becomes_source():
    result = read(
        "2009-04-01-talks.txt",
        "Leaders agree to new arms talks\n\nThe two presidents met in London.\n\nThey spoke for an hour.\n\nReuters\n",
    )
    assert not result.problems
    (article,) = result.articles
    assert article.title == "Leaders agree to new arms talks"
    assert article.source == "Reuters"
    assert article.date == "2009-04-01"
    assert article.text == "The two presidents met in London.\n\nThey spoke for an hour."


def test_txt_without_headline_derives_title_from_opening_words():
    body = "The two presidents met in London on Wednesday and agreed to start talks on a new treaty cutting nuclear weapons."
    (article,) = read("talks.txt", body + "\n\nMore text follows here.").articles
    assert article.title.endswith("…")
    assert body.startswith(article.title[:-1])
    assert article.source is None and article.date is None


def test_the_seed_reads_as_a_reuters_story_of_its_date_titled_by_its_own_words():
    data = SEED_ARTICLE.read_bytes()
    assert not data.endswith(b"\n") and b"\n\n" not in data
    result = read_document(data, SEED_ARTICLE.name, ReadLimits())
    assert not result.problems
    (article,) = result.articles
    assert (article.source, article.date) == ("Reuters", "2009-07-05")
    assert article.text == data.decode().removesuffix("\nReuters")
    assert article.title.endswith("…")
    assert article.text.startswith(article.title[:-1])
    assert article.title.startswith("President Barack Obama heads to Moscow today")


def test_crlf_line_endings_read_like_lf():
    data = SEED_ARTICLE.read_bytes()
    crlf = data.replace(b"\n", b"\r\n")
    assert crlf.count(b"\r\n") == 22
    (from_lf,) = read(SEED_ARTICLE.name, data).articles
    (from_crlf,) = read(SEED_ARTICLE.name, crlf).articles
    assert from_crlf == from_lf and "\r" not in from_crlf.text
    (headlined,) = read("talks.txt", b"Arms talks resume\r\nThe talks resumed on Monday.\r\nThey will go on.\r\n(AP)\r\n").articles
    assert (headlined.title, headlined.source) == ("Arms talks resume", "AP")
    assert headlined.text == "The talks resumed on Monday.\nThey will go on."


def test_headline_followed_by_a_single_newline_is_the_title():
    body = "The two presidents met in Moscow on Monday.\nThey agreed the outline of a treaty."
    (article,) = read("talks.txt", b"Leaders agree arms outline\n" + body.encode()).articles
    assert article.title == "Leaders agree arms outline"
    assert article.text == body


def test_headline_above_a_hard_wrapped_body_is_the_title():
    paragraph = "The two presidents met in Moscow on Monday and agreed the outline of a treaty cutting nuclear weapons."
    wrapped = textwrap.fill(paragraph, 72) + "\n\n" + textwrap.fill(paragraph.replace("Monday", "Tuesday"), 72)
    (article,) = read("talks.txt", "Leaders agree arms outline\n" + wrapped + "\nReuters\n").articles
    assert (article.title, article.source) == ("Leaders agree arms outline", "Reuters")
    assert article.text == wrapped


def test_agency_credit_lines_without_a_blank_line_before_are_the_source():
    body = "The talks resumed on Monday.\nBoth sides said they were close to a deal."
    for credit, agency in (("Reuters", "Reuters"), ("(AP)", "AP"), ("-- AFP", "AFP"), ("\u2014 AFP", "AFP")):
        (article,) = read("talks.txt", f"{body}\n{credit}\n".encode()).articles
        assert (article.source, article.text) == (agency, body), credit


def test_a_last_line_that_ends_a_quotation_is_not_a_credit():
    body = "The minister spoke to the press on Monday and said the talks would go\non, \"as planned.\""
    (article,) = read("talks.txt", body).articles
    assert article.source is None and article.text == body


def test_dateline_agency_is_the_source_and_the_dateline_stays_in_the_text():
    cases = {
        "ISLAMABAD, Pakistan (CNN) -- Pakistani troops pushed into the valley on Sunday.\nThe army said the push would go on.": "CNN",
        "MOSCOW (Reuters) - Russia and the United States resumed arms talks on Monday.\nBoth sides said they were close.": "Reuters",
        "LONDON, July 5 (Reuters) - Britain welcomed the talks.\nThe Foreign Office said so in a statement.": "Reuters",
    }
    for text, agency in cases.items():
        (article,) = read("story.txt", text).articles
        assert (article.source, article.text) == (agency, text)
        assert not article.title.startswith(text.split(" ", 1)[0])  # the title skips the dateline
    (credited,) = read("story.txt", "MOSCOW (Reuters) - Talks resumed on Monday.\nThey went well.\n-- AFP").articles
    assert credited.source == "AFP"


def test_bylines_are_not_titles_and_not_in_the_text():
    body = "MOSCOW (Reuters) - Russia and the United States resumed arms talks on Monday.\nBoth sides said they were close."
    (headlined,) = read("story.txt", f"Arms talks resume\nBy Jane Doe\n{body}").articles
    assert (headlined.title, headlined.text, headlined.source) == ("Arms talks resume", body, "Reuters")
    (untitled,) = read("story.txt", f"By Jane Doe and John Roe, Reuters\n\n{body}").articles
    assert untitled.text == body
    assert untitled.title == "Russia and the United States resumed arms talks on Monday."


def test_markdown_front_matter_gives_metadata():
    (article,) = read(
        "a.md", "---\ntitle: Shield dropped\nsource: Example Wire\ndate: 2009-09-17\nurl: https://example.org/a\n---\nBody text here.\n"
    ).articles
    assert (article.title, article.source, article.date, article.url) == (
        "Shield dropped", "Example Wire", "2009-09-17", "https://example.org/a",
    )
    assert article.text == "Body text here."


def test_html_main_text_and_metadata_are_extracted():
    paragraph = "The president announced a new plan for missile defence in Europe on Thursday. " * 3
    html = (
        "<html><head><title>Plan changed | Example News</title>"
        '<meta property="og:title" content="Plan changed"><meta property="og:site_name" content="Example News">'
        '<meta name="date" content="2009-09-17"></head><body><nav>Home | World | Sport</nav>'
        f"<article><h1>Plan changed</h1><p>{paragraph}</p><p>{paragraph}</p></article>"
        "<footer>Copyright</footer></body></html>"
    )
    (article,) = read("plan.html", html).articles
    assert article.title == "Plan changed"
    assert article.source == "Example News"
    assert article.date == "2009-09-17"
    assert "missile defence" in article.text and "Home | World" not in article.text


def test_jsonl_bad_lines_are_named_and_good_lines_kept():
    lines = [
        '{"title": "One", "text": "First article.", "date": "2010-04-08", "source": "Wire"}',
        '{"title": "Two"}',
        "not json",
        '{"title": 5, "text": "typed wrong"}',
        '["a list"]',
        '{"title": "Three", "text": "Third article.", "date": "yesterday"}',
        '{"text": "Fourth article, untitled."}',
    ]
    result = read("feed.jsonl", "\n".join(lines))
    assert [a.origin for a in result.articles] == ["feed.jsonl:1", "feed.jsonl:7"]
    assert result.articles[1].title == "Fourth article, untitled."
    reasons = {p.origin: p.reason for p in result.problems}
    assert set(reasons) == {"feed.jsonl:2", "feed.jsonl:3", "feed.jsonl:4", "feed.jsonl:5", "feed.jsonl:6"}
    assert "text" in reasons["feed.jsonl:2"]
    assert "JSON" in reasons["feed.jsonl:3"]
    assert "title" in reasons["feed.jsonl:4"] and "string" in reasons["feed.jsonl:4"]
    assert "date" in reasons["feed.jsonl:6"]


def test_bad_files_are_refused_with_a_reason_naming_the_file():
    cases = {
        ("empty.txt", b""): "empty",
        ("blank.txt", b"  \n\n "): "empty",
        ("nul.txt", b"abc\x00def"): "binary",
        ("latin1.txt", "café crème".encode("latin-1")): "UTF-8",
        ("big.txt", b"x" * 10_001): "limit",
        ("photo.png", b"\x89PNG"): "unsupported",
        ("ctrl.txt", b"text \x07 bell"): "binary",
    }
    for (name, data), expected in cases.items():
        result = read(name, data)
        assert not result.articles, name
        (problem,) = result.problems
        assert problem.origin == name and expected in problem.reason, (name, problem.reason)
        assert str(problem).startswith(f"{name}: ")


def test_article_over_the_length_limit_is_refused():
    result = read("long.txt", "Headline\n\n" + "word " * 2000)
    assert not result.articles
    assert "limit" in result.problems[0].reason


def test_missing_file_reports_its_path(tmp_path: Path):
    result = read_path(tmp_path / "gone.txt", LIMITS)
    assert "no such file" in result.problems[0].reason


def test_folders_are_walked_skipping_hidden_and_unsupported(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("a.txt", "sub/b.md", "sub/c.jsonl", "d.pdf", ".hidden/e.txt", "sub/.f.txt"):
        (tmp_path / name).write_text("x")
    names = [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files([tmp_path])]
    assert names == ["a.txt", "sub/b.md", "sub/c.jsonl"]


def test_a_front_matter_alias_bomb_is_refused_before_anything_is_built():
    data = ALIAS_BOMB.read_bytes()
    assert len(data) < 500 and b"date: *i" in data
    tracemalloc.start()
    try:
        result = read_document(data, ALIAS_BOMB.name, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.articles
    (problem,) = result.problems
    assert str(problem) == (
        "alias-bomb.md: front matter uses a YAML alias (*name), which is not allowed; write the value out"
    )
    # built out, the date alone is 387 million items (gigabytes): the loader stops at the first alias
    assert peak < 5_000_000, f"reading a 434-byte file took {peak:,} bytes"


def test_a_date_that_is_not_a_date_is_named_by_its_kind_and_trimmed():
    cases = {
        "list.md": "---\ndate: [" + ", ".join(["x"] * 2_000) + "]\n---\nThe bridge reopened.\n",
        "long.jsonl": json.dumps({"date": "soon " * 1_500, "text": "The bridge reopened."}),
        "mapping.jsonl": json.dumps({"date": {"day": list(range(1_000))}, "text": "The bridge reopened."}),
        "hex.md": "---\ndate: 0x" + "f" * 3_000 + "\n---\nThe bridge reopened.\n",
    }
    reasons = {}
    for name, text in cases.items():
        (problem,) = read(name, text).problems
        assert len(str(problem)) < 200, str(problem)
        reasons[name] = problem.reason
    assert reasons["list.md"] == "date: a list (['x', 'x', 'x', ...]) is not a YYYY-MM-DD date"
    assert reasons["long.jsonl"] == "date: text ('soon soon soon soon soon so...on soon soon soon soon soon ') is not a YYYY-MM-DD date"
    assert reasons["mapping.jsonl"] == "date: a mapping ({'day': [0, 1, 2, ...]}) is not a YYYY-MM-DD date"
    assert reasons["hex.md"] == "date: a number (<a number of 12,000 bits>) is not a YYYY-MM-DD date"


def test_a_line_with_a_huge_number_is_refused_and_the_other_lines_are_read():
    result = read_document(BIG_NUMBER.read_bytes(), BIG_NUMBER.name, LIMITS)
    assert [a.title for a in result.articles] == ["Ferry timetable changes", "Market hall restored"]
    assert [str(p) for p in result.problems] == [
        "big-number.jsonl:2: a number 5,000 digits long; numbers here have at most 100 digits"
    ]


def test_titles_and_sources_lose_terminal_escapes_control_and_bidi_characters():
    (article,) = read_document(ESCAPED_NAMES.read_bytes(), ESCAPED_NAMES.name, LIMITS).articles
    assert (article.title, article.source) == ("Tram fares cut in half", "City Wire")
    (from_yaml,) = read("escaped.md", '---\ntitle: "\\e[31mRed\\e[0m \\u202Ealert\\x07"\n---\nThe bridge reopened.\n').articles
    assert from_yaml.title == "Red alert"
    (from_txt,) = read("escaped.txt", "Bridge \u202ereopens\u202c\n\nThe bridge reopened on Monday.\n").articles
    assert from_txt.title == "Bridge reopens"


def test_a_device_is_refused_without_reading_it():
    result = read_path(Path("/dev/zero"), LIMITS)
    assert [str(p) for p in result.problems] == ["zero: a character device, not a regular file; only regular files are read"]
    assert not result.articles


def test_a_named_pipe_is_refused_without_opening_it(tmp_path: Path):
    pipe = tmp_path / "news.jsonl"
    with pipe_with_a_waiting_writer(pipe, ESCAPED_NAMES) as writer:
        result = read_path(pipe, LIMITS)
        assert [str(p) for p in result.problems] == ["news.jsonl: a named pipe, not a regular file; only regular files are read"]
        assert not result.articles
        assert writer.poll() is None, "the pipe was opened: its writer is no longer waiting"


def test_a_file_over_the_limit_is_refused_and_never_read_past_one_byte_over(tmp_path: Path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 2_001)
    (problem,) = read_path(big, LIMITS).problems
    assert str(problem) == "big.txt: file is 10,005 bytes, over the 10,000-byte limit"
    # a file whose size is not known until it is read (the system reports 0 bytes): read to the limit and a byte
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc")
    assert os.stat(maps).st_size == 0
    (problem,) = read_path(maps, ReadLimits(max_file_bytes=100)).problems
    assert str(problem) == "maps: file is over the 100-byte limit"


def test_a_folder_walk_names_what_it_cannot_read_and_never_follows_a_link_to_a_folder(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("The bridge reopened on Monday.")
    os.mkfifo(tmp_path / "pipe.txt")
    os.mkfifo(tmp_path / "pipe-no-suffix")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "sub" / "up").symlink_to("..")
    (tmp_path / "gone.md").symlink_to("missing.md")
    (tmp_path / "notes.pdf").write_text("x")
    found = list(iter_corpus_files([tmp_path]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.txt", "gone.md", "loop", "pipe-no-suffix", "pipe.txt", "sub/up",
    ]
    reasons = {p.relative_to(tmp_path).as_posix(): [pr.reason for pr in read_path(p, LIMITS).problems] for p in found}
    assert reasons == {
        "a.txt": [],
        "gone.md": ["a broken link: what it points to does not exist"],
        "loop": ["a loop of symbolic links, not a file"],
        "pipe-no-suffix": ["a named pipe, not a regular file; only regular files are read"],
        "pipe.txt": ["a named pipe, not a regular file; only regular files are read"],
        "sub/up": ["a folder (links to folders are not followed inside a folder), not a regular file; only regular files are read"],
    }
