"""Secrets out of what is shown: passwords in URLs, and values of settings named like secrets."""

from __future__ import annotations

import re

HIDDEN = "***"
# scheme://user:password@host: the password goes (postgresql://, amqp://, https://...)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)")
# whole parts of a snake_case name: "discord_token" is a secret, "max_tokens" is not
_SECRET_NAME = re.compile(r"(?:^|_)(?:token|password|passwd|secret|api_key|dsn)(?:_|$)", re.IGNORECASE)


def hide_secrets(text: str) -> str:
    """text with the password of every URL in it as ***."""
    return _URL_PASSWORD.sub(lambda match: match["head"] + HIDDEN, text)


def is_secret_name(name: str) -> bool:
    """Whether a setting's or variable's name says it holds a secret (a token, a password, a DSN)."""
    return bool(_SECRET_NAME.search(name))
