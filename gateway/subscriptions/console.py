"""The ``subscriptions deliver`` command: the delivery worker run alone (beside or instead of the serving processes'
workers, ``CPTS_SUBSCRIPTION_WORKER=false``); ``--once`` sends what is due and exits.

Exit codes: 0 done (or stopped with Ctrl-C), 4 when it could not run (database down).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.settings import Settings
from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.subscriptions.delivery import Deliverer, new_owner

EXIT_OK, EXIT_FAILED = 0, 4


def cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    try:
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        print(f"cpts-gateway: the database cannot be reached: {exc.__class__.__name__}", file=sys.stderr)
        return EXIT_FAILED
    deliverer, owner, sent = Deliverer(settings, engine), new_owner(), 0
    try:
        while True:
            sent += deliverer.run_due(owner)
            if args.once:
                break
            time.sleep(settings.subscription_poll_seconds)
    except KeyboardInterrupt:
        pass
    except SQLAlchemyError as exc:
        print(f"cpts-gateway: the database was lost: {exc.__class__.__name__}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        deliverer.close()
        engine.dispose()
    print(f"{sent} notification attempt(s) sent")
    return EXIT_OK


def add_commands(commands: Any) -> None:
    subscriptions = commands.add_parser("subscriptions", help="Subscription notifications")
    actions = subscriptions.add_subparsers(dest="action", required=True)
    deliver = actions.add_parser("deliver", help="run the delivery worker in this process (Ctrl-C stops it)")
    deliver.add_argument("--once", action="store_true", help="send the notifications due now, then exit")
    deliver.set_defaults(handler=cmd_deliver)


__all__ = ["add_commands", "cmd_deliver"]
