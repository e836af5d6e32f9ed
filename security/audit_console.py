"""The ``audit`` command group: ``cpts-gateway audit verify`` checks the audit trail's hash chain.

Exit codes: 0 the chain is intact, 3 it is broken (the first broken seq and why are printed), 4 it could not be
checked (database unreachable, schema not migrated). Never a traceback. The head's seq and hash are printed so an
operator can keep them elsewhere: a chain rewritten wholesale is only caught against such a copy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from gateway.settings import Settings
from gateway.storage.db import make_engine
from security.audit import verify
from security.audit_store import audit_engine, dispose_audit_engines

EXIT_OK, EXIT_BROKEN, EXIT_FAILED = 0, 3, 4


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    database = make_url(settings.database_url).database if settings.is_sqlite else None
    if database and database != ":memory:" and not Path(database).is_file():
        print(f"audit verify: there is no database at {database}", file=sys.stderr)
        return EXIT_FAILED
    try:
        store = make_engine(settings.database_url)
        engine = audit_engine(settings, store)
        try:
            if not inspect(engine).has_table("audit_event"):
                print("audit verify: the database has no audit trail (run cpts-gateway migrate)", file=sys.stderr)
                return EXIT_FAILED
            result = verify(engine, batch=args.batch)
        finally:
            store.dispose()
            dispose_audit_engines()
    except SQLAlchemyError as exc:
        reason = str(exc.__cause__ or exc).splitlines()[0]
        print(f"audit verify: cannot read the audit trail: {reason}", file=sys.stderr)
        return EXIT_FAILED
    seconds = time.perf_counter() - started
    if args.json:
        print(orjson.dumps({**result.__dict__, "seconds": round(seconds, 3)}).decode())
    elif result.intact:
        print(f"audit trail intact: {result.events} events checked in {seconds:.1f} s")
        print(f"head: seq {result.head_seq} hash {result.head_hash}")
    else:
        print(f"audit trail BROKEN at seq {result.broken_seq}: {result.problem}: {result.detail}")
        print(f"{result.events} events before it are intact; head: seq {result.head_seq} hash {result.head_hash}")
    return EXIT_OK if result.intact else EXIT_BROKEN


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def add_commands(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the audit trail")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    check = actions.add_parser("verify", help="check the audit trail's hash chain (exit 0 intact, 3 broken)")
    check.add_argument("--json", action="store_true", help="print the result as one JSON object")
    check.add_argument("--batch", type=_positive, default=2000, help="events read at a time (default 2000)")
    check.set_defaults(handler=cmd_audit_verify)


__all__ = ["EXIT_BROKEN", "EXIT_FAILED", "EXIT_OK", "add_commands", "cmd_audit_verify"]
