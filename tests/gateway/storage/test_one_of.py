"""``one_of``: the same matches as an IN list on both backends; on PostgreSQL one statement text for any length."""

from __future__ import annotations

from sqlalchemy import Engine, column, select, table, text
from sqlalchemy.dialects import postgresql, sqlite

from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.one_of import one_of

PROBE = table("one_of_probe", column("name"))


def test_one_of_finds_the_rows_whose_value_is_listed(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS one_of_probe (name VARCHAR(64))"))
        conn.execute(text("DELETE FROM one_of_probe"))
        conn.execute(text("INSERT INTO one_of_probe VALUES ('a'), ('b'), ('c'), ('O''Brien')"))
    try:
        with read_transaction(engine) as conn:
            dialect = conn.dialect.name

            def names(values: set[str]) -> list[str]:
                query = select(PROBE.c.name).where(one_of(PROBE.c.name, values, dialect)).order_by(PROBE.c.name)
                return list(conn.execute(query).scalars())

            assert names({"a", "c", "z"}) == ["a", "c"]
            assert names({"O'Brien"}) == ["O'Brien"]
            assert names({f"x{n}" for n in range(500)} | {"b"}) == ["b"]
    finally:
        with write_transaction(engine) as conn:
            conn.execute(text("DROP TABLE one_of_probe"))


def test_on_postgresql_the_statement_does_not_depend_on_the_number_of_values() -> None:
    def compiled(count: int, dialect: str, compile_for: object) -> str:
        query = select(PROBE.c.name).where(one_of(PROBE.c.name, {f"s{n}" for n in range(count)}, dialect))
        return str(query.compile(dialect=compile_for, compile_kwargs={"render_postcompile": True}))

    assert compiled(3, "postgresql", postgresql.dialect()) == compiled(300, "postgresql", postgresql.dialect())
    assert compiled(3, "sqlite", sqlite.dialect()) != compiled(300, "sqlite", sqlite.dialect())  # one ? per value
