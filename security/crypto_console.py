"""The ``keys rotate-data`` and ``keys reencrypt`` commands: rotate the field-encryption key, rewrap old envelopes.

``rotate-data`` adds a key to the data keys file and makes it active (running gateways pick it up within seconds;
older envelopes keep opening with their own key). ``reencrypt`` then moves every envelope to the active key, in
batches, printing counts; it can be stopped and run again. Exit codes: 0 done, 3 refused, 4 could not run.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.storage.store import build_store
from security.console import EXIT_OK, EXIT_REFUSED, fail
from security.crypto import CryptoError, keys_path, load_data_keys, rotate_data_key, uses_development_keys
from security.rewrap import Rewrapper


def cmd_rotate_data(_args: argparse.Namespace, settings: Settings) -> int:
    if settings.env == "production" and uses_development_keys(settings):
        return fail("keys rotate-data: CPTS_ENV=production needs CPTS_DATA_KEYS_FILE", EXIT_REFUSED)
    path = keys_path(settings)
    try:
        load_data_keys(settings)  # in development the file may not exist yet
        rotated = rotate_data_key(path)
    except CryptoError as exc:
        return fail(f"keys rotate-data: {exc.diagnostics}")
    except OSError as exc:
        return fail(f"keys rotate-data: {path}: {exc.strerror}")
    print(f"data key {rotated.active} is now active in {path} ({len(rotated.keys)} keys; older ones still open)")
    print("running gateways seal with it within seconds; run `cpts-gateway keys reencrypt` to rewrap old envelopes")
    return EXIT_OK


def _line(kind: str, counts: Counter[str]) -> str:
    return f"  {kind:<10} " + ", ".join(f"{name} {number}" for name, number in sorted(counts.items()))


def cmd_reencrypt(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch < 1:
        return fail("keys reencrypt: --batch must be at least 1", 2)
    try:
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)
        store = build_store(engine, settings)
        protector = store.protector
        assert protector is not None
        rewrapper = Rewrapper(engine, store, protector, args.batch)
        print(f"rewrapping to data key {protector.cipher.active_kid}")

        def progress(kind: str, counts: Counter[str]) -> None:
            if args.verbose:
                print(_line(kind, counts), flush=True)

        done = rewrapper.run(progress)
    except CryptoError as exc:
        return fail(f"keys reencrypt: {exc.diagnostics}")
    except SQLAlchemyError as exc:
        return fail(f"keys reencrypt: database error ({type(exc).__name__}); run it again to resume")
    for kind, counts in done.items():
        print(_line(kind, counts) if counts else f"  {kind:<10} none")
    return EXIT_OK


def _keys_actions(commands: Any) -> Any:
    """The ``keys`` group's sub-commands (created here if no other module registered the group yet)."""
    keys = commands.choices.get("keys")
    if keys is None:
        keys = commands.add_parser("keys", help="the gateway's keys")
        return keys.add_subparsers(dest="action", required=True)
    return next(action for action in keys._actions if isinstance(action, argparse._SubParsersAction))


def add_commands(commands: Any) -> None:
    actions = _keys_actions(commands)
    rotate = actions.add_parser("rotate-data", help="add a data (field-encryption) key and make it the active one")
    rotate.set_defaults(handler=cmd_rotate_data)
    reencrypt = actions.add_parser("reencrypt", help="rewrap every sealed value with the active data key (resumable)")
    reencrypt.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")
    reencrypt.add_argument("--verbose", action="store_true", help="print the counts after every batch")
    reencrypt.set_defaults(handler=cmd_reencrypt)


__all__ = ["add_commands"]
