"""A child process that ends when the process that started it is gone.

A parent killed outright (SIGKILL, the out-of-memory killer) runs no clean-up, and Python's ``daemon`` children
only end with a parent that exits normally. Left alone, a worker of ``serve --workers N`` would keep answering on
the inherited socket (a restarted server could not bind it) and an ingest producer would stay blocked on its full
queue, holding its payload. Each watches its parent's sentinel and acts when it closes.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import threading
from collections.abc import Callable


def on_parent_exit(action: Callable[[], None]) -> bool:
    """Run ``action`` in a background thread once the parent process has ended; False in a process with no
    ``multiprocessing`` parent (a process started from a shell), where nothing is watched."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return False
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        action()

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    return True


__all__ = ["on_parent_exit"]
