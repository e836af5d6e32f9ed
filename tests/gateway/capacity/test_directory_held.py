"""A transaction asks for the capacity directory once (gateway/capacity/directory.py): a Slot search and its includes
share it; a directory write in the same transaction makes it ask again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from gateway.capacity.directory import DIRECTORY
from gateway.settings import Settings
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import WriteItem, build_store


@pytest.fixture
def seen(clean_db: Engine) -> Iterator[list[str]]:
    """The directory counter reads sent to the database."""
    found: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM directory_version" in statement and "IN (" in statement:
            found.append(statement)

    event.listen(clean_db, "before_cursor_execute", count)
    yield found
    event.remove(clean_db, "before_cursor_execute", count)


def test_one_stamp_read_per_transaction(clean_db: Engine, seen: list[str]) -> None:
    with read_transaction(clean_db) as conn:
        first = DIRECTORY.current(conn)
        assert DIRECTORY.current(conn) is first and len(seen) == 1
    with read_transaction(clean_db) as conn:  # a new transaction reads the counters again
        DIRECTORY.current(conn)
    assert len(seen) == 2


def test_a_directory_write_in_the_transaction_is_seen(clean_db: Engine, settings: Settings) -> None:
    store = build_store(clean_db, settings)
    schedule = {"resourceType": "Schedule", "id": "sch-new", "actor": [{"reference": "Practitioner/p"}]}
    with write_transaction(clean_db) as conn:
        assert "sch-new" not in DIRECTORY.current(conn).schedules
        store.write(conn, [WriteItem("Schedule", "sch-new", schedule, tenant="350000014")])
        assert "sch-new" in DIRECTORY.current(conn).schedules
