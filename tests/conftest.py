"""Shared test configuration: re-exports the fixtures of the topic modules."""

from tests.conftest_discord import fail_on_error_logs, fake_discord  # noqa: F401
from tests.conftest_postgres import postgres_dsn, postgres_server, storage_backend  # noqa: F401
