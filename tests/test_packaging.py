"""The installed newsdesk: a wheel that works from any folder, under names of its own.

The checkout keeps the card's folders (bot/, index/, config/, corpus/); pyproject.toml maps
them to newsdesk.bot, newsdesk.index and package data. These tests build that wheel, install
it into a fresh virtual environment and ask it a question from an empty folder, as a user
who ran `pip install newsdesk` would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

from tests.support.engines import PROJECT_ROOT, SEED_ARTICLE

# Building the wheel (pip with build isolation fetches setuptools) and a first answer with
# the real model (reading the bundled corpus) take a minute or two.
WHEEL_TIMEOUT = 600
# What pyproject.toml builds the wheel from.
SOURCE_FILES = ("pyproject.toml", "README.md", "bot", "index", "config", "corpus")


def test_every_package_in_the_checkout_is_installed():
    """A folder of bot/ or index/ missing from pyproject's list would be left out of the wheel."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {
        "newsdesk." + ".".join(init.parent.relative_to(PROJECT_ROOT).parts)
        for top in ("bot", "index")
        for init in (PROJECT_ROOT / top).rglob("__init__.py")
    }
    assert folders <= set(config["packages"])
    assert {"newsdesk.config", "newsdesk.corpus"} <= set(config["packages"])


def test_ci_runs_the_readmes_test_command_from_the_lock_file():
    """.ci/run's last line is the command the README gives, installing from the hashed lock file."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    ci_command = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert f"```bash\n{ci_command}\n```" in readme
    assert "--require-hashes -r requirements/test.lock" in ci_command
    lock = (PROJECT_ROOT / "requirements" / "test.lock").read_text(encoding="utf-8")
    assert "\ntorch==2.13.0+cpu \\\n    --hash=sha256:" in lock  # the CPU build, not a multi-GB CUDA one
    assert "\nnvidia-" not in lock


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the built wheel; its dependencies are this venv's packages.

    Installing torch and the model into a second venv would cost 1.5 GB and minutes, and test
    nothing of ours: a .pth line lends them. The lent folder's own .pth files (this checkout's
    editable install among them) are not run, so `newsdesk` can only come from the wheel.
    """
    root = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools packs whatever its build/ folder holds, so building in a
    # used checkout could ship stale modules that hide a package missing from the list.
    source = root / "source"
    source.mkdir()
    for name in SOURCE_FILES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(PROJECT_ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist"), str(source)],
        check=True, timeout=WHEEL_TIMEOUT, capture_output=True,
    )
    (wheel,) = (root / "dist").glob("newsdesk-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, timeout=WHEEL_TIMEOUT, capture_output=True,
    )
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    (site / "lent_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return env_dir


@pytest.mark.slow
def test_the_wheel_takes_no_generic_top_level_name(installed):
    site = next((installed / "lib").glob("python*/site-packages"))
    ours = {path.name for path in site.iterdir() if path.name.startswith("newsdesk")}
    assert ours == {"newsdesk", "newsdesk-0.1.0.dist-info"}
    assert not (site / "index").exists() and not (site / "bot").exists()
    assert (site / "newsdesk" / "config" / "default.toml").is_file()
    assert (site / "newsdesk" / "corpus" / SEED_ARTICLE.name).read_bytes() == SEED_ARTICLE.read_bytes()


@pytest.mark.slow
def test_the_installed_newsdesk_answers_from_an_empty_folder(installed, tmp_path):
    """`newsdesk ask` quotes the bundled seed, keeping its store in the user's data directory."""
    home, empty = tmp_path / "home", tmp_path / "empty"
    home.mkdir(), empty.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NEWSDESK_", "XDG_"))}
    env["HOME"] = str(home)
    result = subprocess.run(
        [str(installed / "bin" / "newsdesk"), "ask", "--json", "why does Russia oppose the missile shield?"],
        cwd=empty, env=env, capture_output=True, text=True, timeout=WHEEL_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["abstained"]
    seed_text = SEED_ARTICLE.read_text(encoding="utf-8")
    seed_quotes = [quote for quote in answer["answers"] if quote["article"]["source"] == "Reuters"]
    assert seed_quotes and all(quote["quote"] in seed_text for quote in seed_quotes)
    assert seed_quotes[0]["article"]["date"].startswith("2009-07-05")
    assert list(empty.iterdir()) == []
    assert (home / ".local" / "share" / "newsdesk" / "data").is_dir()
