"""A text column read as its UTF-8 bytes, for answers that copy stored JSON into the response as it is.

Decoding a few hundred kilobytes of stored JSON into ``str`` and encoding the response back to UTF-8 costs more than
the rest of assembling it when the text is not ASCII (the French displays of codings): reading the bytes skips both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import LargeBinary


class utf8_bytes(FunctionElement[bytes]):  # an SQL function, named like one
    """``utf8_bytes(column)``: the column's text as UTF-8 bytes (SQLite: the stored bytes, no conversion)."""

    type = LargeBinary()
    name = "utf8_bytes"
    inherit_cache = True


@compiles(utf8_bytes)
def _other(element: utf8_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"utf8_bytes: no rendering for the {compiler.dialect.name} dialect")


@compiles(utf8_bytes, "sqlite")
def _sqlite(element: utf8_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS BLOB)"


@compiles(utf8_bytes, "postgresql")
def _postgresql(element: utf8_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    # not a cast: text::bytea would read backslashes in the JSON as bytea escapes
    return f"convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')"


__all__ = ["utf8_bytes"]
