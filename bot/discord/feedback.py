"""Members' verdicts on answers, stored with their Discord ids hashed."""

from __future__ import annotations

import hashlib
import secrets

from newsdesk.index import Answer, Engine

SALT_KEY = "feedback_salt"


async def rater_hash(engine: Engine, user_id: int | str) -> str:
    """A member's id hashed with a random salt kept in the store, so ids cannot be recovered by hashing candidate ids."""
    salt = await engine.app_data.get(SALT_KEY)
    if salt is None:
        salt = secrets.token_hex(16)
        await engine.app_data.set(SALT_KEY, salt)
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()


async def record_feedback(engine: Engine, answer: Answer, user_id: int | str, helpful: bool) -> None:
    """Store a member's verdict on an answer, with the quotes shown and the member's id hashed."""
    await engine.app_data.record_feedback(answer, await rater_hash(engine, user_id), helpful)
