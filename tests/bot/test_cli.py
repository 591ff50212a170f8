"""The `newsdesk` command line, in-process, with the fast hashing embedder."""

import json
from pathlib import Path

import pytest

from newsdesk.bot.cli import main
from newsdesk.index import load_settings

from tests.support.engines import write_jsonl
from tests.support.special_files import ALIAS_BOMB, BIG_NUMBER, ESCAPED_NAMES, pipe_with_a_waiting_writer

ARTICLE = {
    "title": "Tram line extended to the airport",
    "source": "Metro Daily",
    "date": "2025-02-03",
    "url": "https://example.org/tram",
    "text": "The city's tram line now runs all the way to the airport, after the extension opened on Sunday "
    "with free rides for the first week.\n\nThe new stretch adds four stops and cuts the journey to the "
    "terminal to twenty minutes from the central station.",
}


@pytest.fixture
def cli(tmp_path: Path, capsys):
    config = tmp_path / "test.toml"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_jsonl(corpus / "seed.jsonl", [ARTICLE])
    # abstention off: its threshold is calibrated on the real model's scores, not the hashing embedder's
    config.write_text(f'[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[corpus]\ndir = "{corpus}"\n[retrieval]\nabstain_below = 0.0\n')

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "--data-dir", str(tmp_path / "data"), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_first_ask_ingests_the_bundled_corpus_and_quotes_it(cli):
    code, out, err = cli("ask", "how long is the tram journey to the airport terminal?")
    assert code == 0
    assert "Ingested 1 article(s)" in err
    assert "1. Tram line extended to the airport (Metro Daily, 2025-02-03)" in out
    assert "**The new stretch adds four stops" in out
    assert "https://example.org/tram" in out


def test_ask_json_follows_the_schema(cli):
    code, out, _ = cli("ask", "--json", "-k", "1", "tram extension airport stops")
    payload = json.loads(out)
    assert set(payload) == {"question", "abstained", "elapsed_ms", "answers"}
    (answer,) = payload["answers"]
    assert set(answer) == {"quote", "highlight", "score", "start", "end", "article"}
    assert answer["quote"] == ARTICLE["text"][answer["start"] : answer["end"]]
    assert answer["highlight"] in answer["quote"]
    assert answer["article"] == {
        "id": 1, "title": ARTICLE["title"], "source": "Metro Daily", "date": "2025-02-03",
        "url": "https://example.org/tram", "origin": "seed.jsonl:1",
    }


def test_questions_file_gives_one_json_line_per_question(cli, tmp_path: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "tram stops airport"}\n{"q": "wrong field"}\n{"question": ""}\n')
    code, out, _ = cli("ask", "--json", "--questions", str(questions))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert lines[0]["answers"][0]["article"]["title"] == ARTICLE["title"]
    assert "q.jsonl:2" in lines[1]["error"]
    assert "empty" in lines[2]["error"]


def test_ingest_list_remove_round_trip(cli, tmp_path: Path):
    feed = write_jsonl(
        tmp_path / "more.jsonl",
        [{"title": "Library opens late on Fridays", "text": "The central library will stay open until ten on Fridays."}],
    )
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\xff\xfe\x00binary")
    code, out, err = cli("ingest", str(feed), str(bad))
    assert code == 1  # a problem was reported
    assert "1 article(s)" in out
    assert "broken.txt: binary file" in err
    code, out, _ = cli("ingest", str(feed))
    assert "0 article(s)" in out and "1 already stored" in out
    code, out, err = cli("articles")
    assert "Library opens late on Fridays" in out
    assert err.splitlines()[-1].startswith("1 article(s) in SQLite (")
    article_id = next(line.split()[0] for line in out.splitlines() if "Library opens" in line)
    assert cli("remove", article_id)[0] == 0
    assert "Library opens" not in cli("articles")[1]
    code, _, err = cli("remove", article_id)
    assert code == 1 and "No article" in err


def test_ingest_refuses_each_unreadable_file_in_one_line_and_reads_the_rest(cli, tmp_path: Path):
    config = tmp_path / "test.toml"
    config.write_text(config.read_text().replace("[corpus]\n", "[corpus]\nmax_file_bytes = 6000\n"))
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1_201)
    after = write_jsonl(
        tmp_path / "after.jsonl",
        [{"title": "Library opens late on Fridays", "text": "The central library will stay open until ten on Fridays."}],
    )
    pipe = tmp_path / "pipe.jsonl"
    with pipe_with_a_waiting_writer(pipe, ESCAPED_NAMES) as writer:
        files = ["/dev/zero", pipe, ALIAS_BOMB, BIG_NUMBER, big, ESCAPED_NAMES, after]
        code, out, err = cli("ingest", *map(str, files))
        assert writer.poll() is None, "the named pipe was opened"
    assert code == 1
    assert [line for line in err.splitlines() if line.startswith("error: ")] == [
        "error: zero: a character device, not a regular file; only regular files are read",
        "error: pipe.jsonl: a named pipe, not a regular file; only regular files are read",
        "error: alias-bomb.md: front matter uses a YAML alias (*name), which is not allowed; write the value out",
        "error: big-number.jsonl:2: a number 5,000 digits long; numbers here have at most 100 digits",
        "error: big.txt: file is 6,005 bytes, over the 6,000-byte limit",
    ]
    assert "Traceback" not in err
    assert out.startswith("4 article(s), ") and out.rstrip().endswith("0 already stored; 5 problem(s).")
    code, out, _ = cli("articles", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted((row["title"], row["source"]) for row in rows) == [
        ("Ferry timetable changes", None),
        ("Library opens late on Fridays", None),
        ("Market hall restored", None),
        ("Tram fares cut in half", "City Wire"),
    ]
    code, out, _ = cli("articles")
    assert "Tram fares cut in half" in out and "\x1b" not in out and "\u202e" not in out


def test_bad_question_is_a_one_line_error(cli):
    code, out, err = cli("ask", "   ")
    assert code == 2 and out == ""
    assert err.strip() == "newsdesk: Ask a question: the text is empty."


def test_ask_since_and_until_limit_the_articles_by_date(cli):
    code, out, _ = cli("ask", "--since", "2025-02-01", "tram stops airport")
    assert code == 0 and "1. Tram line extended to the airport" in out
    code, out, _ = cli("ask", "--until", "2025-01-31", "tram stops airport")
    assert code == 0 and out.strip() == "Nothing in my articles dated until 2025-01-31 answers that."
    code, out, _ = cli("ask", "--json", "--since", "2025-02-03", "--until", "2025-02-03", "tram stops airport")
    assert json.loads(out)["period"] == {"since": "2025-02-03", "until": "2025-02-03", "missed": False}


def test_an_abstention_says_which_names_no_article_gives(cli, tmp_path: Path):
    config = tmp_path / "test.toml"
    config.write_text(config.read_text().replace("abstain_below = 0.0", "abstain_below = 1.0"))  # nothing clears it
    code, out, _ = cli("ask", "Which Lisbon tram line reaches the airport?")
    assert code == 0
    assert out.splitlines()[:2] == [
        "Nothing in my articles answers that.",
        'None of the articles nearest the question says "Lisbon".',
    ]
    code, out, _ = cli("ask", "--json", "Which Lisbon tram line reaches the airport?")
    assert json.loads(out)["unnamed"] == ["Lisbon"]


def test_an_unreadable_since_is_a_one_line_error(cli):
    code, out, err = cli("ask", "--since", "soon", "tram stops airport")
    assert code == 2 and out == ""
    assert err.strip() == "newsdesk: `since` must be a date like 2024-05-01 or an age like 7d, 2w or 12h, not “soon”."


@pytest.fixture
def running_writer(tmp_path: Path):
    """Another process writing the cli's data folder: it stored ARTICLE and holds the store."""
    import subprocess
    import sys

    from tests.support.engines import PROJECT_ROOT

    feed = write_jsonl(tmp_path / "writer.jsonl", [ARTICLE])
    script = PROJECT_ROOT / "tests" / "support" / "scripts" / "hold_writer_lock.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(PROJECT_ROOT), str(tmp_path / "data"), str(feed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_a_second_writer_is_refused_naming_the_holder(cli, running_writer, tmp_path: Path):
    feed = write_jsonl(tmp_path / "more.jsonl", [{"title": "Ferry", "text": "The ferry runs again."}])
    code, out, err = cli("ingest", str(feed))
    assert code != 0
    (line,) = err.strip().splitlines()
    assert "being written by another newsdesk process" in line
    assert f"pid {running_writer.pid}" in line and "hold_writer_lock.py" in line and "since" in line
    code, _, err = cli("remove", "1")
    assert code != 0 and f"pid {running_writer.pid}" in err


def test_ask_and_articles_work_beside_a_running_writer(cli, running_writer, tmp_path: Path):
    code, out, err = cli("ask", "how long is the tram journey to the airport terminal?")
    assert code == 0, err
    assert "**The new stretch adds four stops" in out
    assert "Ingested" not in err  # corpus/ is the writer's to read
    code, out, _ = cli("articles")
    assert code == 0 and "Tram line extended to the airport" in out
    data = tmp_path / "data"
    assert not (data / "keyword").exists()  # the read-only ask built its keyword index in memory


def test_version_prints_the_installed_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"newsdesk {metadata.version('newsdesk')}\n"


def test_config_show_prints_the_effective_settings_with_secrets_hidden(tmp_path, monkeypatch, capsys):
    import tomllib

    monkeypatch.setenv("NEWSDESK_RETRIEVAL__TOP_K", "5")
    monkeypatch.setenv("NEWSDESK_DISCORD__ASK_RATE", "2")
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", "postgresql://newsdesk:s3cret-pass@db.example/news")
    monkeypatch.setenv("DISCORD_TOKEN", "MTA5.config-show-token.Zz9")
    assert main(["--data-dir", str(tmp_path / "data"), "config", "show"]) == 0
    out = capsys.readouterr().out
    shown = tomllib.loads(out)  # valid TOML, to copy into a config file
    assert shown["retrieval"]["top_k"] == 5 and shown["discord"]["ask_rate"] == 2
    assert shown["storage"]["data_dir"] == str(tmp_path / "data")
    assert shown["metrics"] == {"listen": ""} and shown["logging"] == {"format": "text"}
    assert shown["reader"]["max_tokens"] == load_settings().reader.max_tokens  # a count of tokens is no secret
    assert "s3cret-pass" not in out and "config-show-token" not in out
    assert "NEWSDESK_DATABASE_URL: postgresql://newsdesk:***@db.example/news" in out
    assert "DISCORD_TOKEN: set (hidden)" in out


def test_a_bad_setting_variable_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_RETRIEVAL__TOP_K", "lots")
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err == "newsdesk: NEWSDESK_RETRIEVAL__TOP_K: expected a number (int), got 'lots' (str of 4 characters)\n"


def test_log_lines_carry_time_and_level_and_never_the_token(monkeypatch):
    import logging
    import re

    from newsdesk.bot.logs import JsonFormatter, TextFormatter

    monkeypatch.setenv("DISCORD_TOKEN", "MTA5.log-line-token.Zz9")
    record = logging.LogRecord(
        "newsdesk.bot", logging.WARNING, __file__, 1,
        "cannot reach %s with %s", ("postgresql://bot:pw-in-url@db/news", "MTA5.log-line-token.Zz9"), None,
    )
    text = TextFormatter().format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING newsdesk\.bot: cannot reach postgresql://bot:\*\*\*@db/news with \*\*\*",
        text,
    ), text
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "newsdesk.bot"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert line["message"] == "cannot reach postgresql://bot:***@db/news with ***"


def test_a_page_with_no_article_is_one_line_with_no_library_log_beside_it(tmp_path: Path):
    """trafilatura logs ERROR lines of its own for such a page; the terminal shows only newsdesk's line."""
    import subprocess
    import sys

    config = tmp_path / "test.toml"
    config.write_text(f'[model]\nbackend = "hashing"\n[reader]\nenabled = false\n[corpus]\ndir = "{tmp_path}"\n')
    page = tmp_path / "nested.html"
    page.write_text("<div>" * 5_000 + "hello world. " * 50)
    done = subprocess.run(
        [sys.executable, "-m", "newsdesk.bot.cli", "--config", str(config), "--data-dir", str(tmp_path / "data"),
         "ingest", str(page)],
        capture_output=True, text=True, timeout=120,
    )
    lines = [line for line in done.stderr.replace("\r", "\n").splitlines() if line.strip() and "ingesting" not in line]
    assert lines == ["error: nested.html: no article text found in the HTML"], done.stderr
