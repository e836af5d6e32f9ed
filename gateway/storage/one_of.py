"""``column IN (values)`` for long lists of values: one array parameter on PostgreSQL.

SQLAlchemy renders an IN list as one parameter per value, expanded at each execution: with a list of a few hundred
Schedule ids (a SAS request's practitioners, the Schedules of a commune or around a point) the statement is rewritten,
and psycopg converts a query text it has never seen, every time. ``column = ANY(:values)`` keeps one statement text
whatever the number of values (10 % of a worker's CPU under the capacity bench on PostgreSQL). SQLite has no arrays and
keeps the expanding IN.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def one_of(column: Any, values: Collection[str], dialect: str) -> ColumnElement[bool]:
    """``column`` equals one of ``values`` (text), written for the ``dialect`` name the statement will run on."""
    ordered = sorted(values)
    if dialect == "postgresql":
        result: ColumnElement[bool] = column == any_(bindparam(None, ordered, type_=ARRAY(String())))
        return result
    return column.in_(ordered)  # type: ignore[no-any-return]


__all__ = ["one_of"]
