"""Spent client-assertion ids (table ``oauth_jti``): an assertion works once, on every gateway process.

The primary key (client, jti) does the work: the second insert of the same pair fails, whichever process tries.
Rows are kept until the assertion has expired (after that it is refused for its ``exp`` anyway), then pruned.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.exc import IntegrityError

from gateway.storage.db import read_transaction, write_transaction
from security.models import SpentAssertionRow

_TABLE: Table = SpentAssertionRow.__table__  # type: ignore[attr-defined]
PRUNE_INTERVAL_SECONDS = 60.0
LEEWAY = timedelta(seconds=60)  # an assertion's exp is checked with some leeway: keep its jti that much longer


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class SpentAssertions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pruned_at = 0.0

    def spend(self, client: str, jti: str, expires_at: datetime) -> bool:
        """Record the jti as used; False when it was used before (a replay)."""
        self._prune()
        try:
            with write_transaction(self.engine) as conn:  # BEGIN IMMEDIATE on SQLite
                conn.execute(_TABLE.insert().values(client=client, jti=jti, expires_at=_utc_naive(expires_at + LEEWAY)))
        except IntegrityError:
            return False
        return True

    def spent(self, client: str, jti: str) -> bool:
        """Whether the jti was recorded (and not yet pruned: its token has not expired)."""
        query = select(_TABLE.c.jti).where(_TABLE.c.client == client, _TABLE.c.jti == jti)
        with read_transaction(self.engine) as conn:
            return conn.execute(query).first() is not None

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_INTERVAL_SECONDS:
            return
        self._pruned_at = now
        cutoff = _utc_naive(datetime.now(UTC))
        with write_transaction(self.engine) as conn:  # BEGIN IMMEDIATE on SQLite
            conn.execute(delete(_TABLE).where(_TABLE.c.expires_at < cutoff))


__all__ = ["SpentAssertions"]
