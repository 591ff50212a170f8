"""Reading files into articles, and refusing bad ones with a clear reason."""

from pathlib import Path

from index.reading import ReadLimits, iter_corpus_files, read_document, read_path

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
