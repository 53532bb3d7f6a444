"""``IdempotencyService``: a POST sent again with the same ``Idempotency-Key`` gets the stored
response instead of doing its work twice; the same key with a different body is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from procpilot.domain.access import Principal
from procpilot.domain.errors import StateConflict, UserError
from procpilot.storage.database import Database
from procpilot.storage.idempotency import IdempotencyRepository

MAX_KEY_LENGTH = 200
KEEP_HOURS = 24


class KeyReused(UserError):
    """The key was used before for a different request."""


@dataclass(frozen=True)
class Stored:
    status_code: int
    content_type: str
    body: str


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


class IdempotencyService:
    def __init__(self, database: Database) -> None:
        self.database = database

    def begin(self, principal: Principal, key: str, fingerprint: str) -> Stored | None:
        """Claim ``key`` for this request. Returns the stored response of an earlier request with
        the same key and body; raises when the body differs or the first request is still running."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise UserError(f"an Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters")
        with self.database.transaction() as c:
            repo = IdempotencyRepository(c, principal.tenant, principal.id)
            if repo.claim(key, fingerprint):
                return None
            found = repo.get(key)
        assert found is not None
        if found["request_hash"] != fingerprint:
            raise KeyReused(
                f"Idempotency-Key {key!r} was used for a different request; use a new key for a new request"
            )
        if found["status_code"] is None:
            raise StateConflict(
                f"the request with Idempotency-Key {key!r} is still being processed; retry later"
            )
        return Stored(found["status_code"], found["content_type"] or "application/json", found["body"] or "")

    def finish(self, principal: Principal, key: str, stored: Stored) -> None:
        """Keep the response; a server error is not kept, so the same key may be tried again."""
        with self.database.transaction() as c:
            repo = IdempotencyRepository(c, principal.tenant, principal.id)
            if stored.status_code >= 500:
                repo.release(key)
            else:
                repo.complete(key, stored.status_code, stored.content_type, stored.body)
                repo.purge(dt.datetime.now(dt.UTC) - dt.timedelta(hours=KEEP_HOURS))
