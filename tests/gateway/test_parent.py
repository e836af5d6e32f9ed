"""``on_parent_exit``: a child acts once its parent has been killed outright, and nothing is watched without one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

from gateway.parent import on_parent_exit


def _grandchild(marker: str) -> None:
    def leave() -> None:
        Path(marker).write_text("parent gone")
        os._exit(0)

    on_parent_exit(leave)
    time.sleep(60)  # blocked, as a producer on a full queue would be


def _child(marker: str, started: str) -> None:
    process = multiprocessing.get_context("spawn").Process(target=_grandchild, args=(marker,))
    process.start()
    Path(started).write_text(str(process.pid))
    time.sleep(60)


def test_a_child_acts_when_its_parent_is_killed(tmp_path: Path) -> None:
    marker, started = tmp_path / "marker", tmp_path / "started"
    child = multiprocessing.get_context("spawn").Process(target=_child, args=(str(marker), str(started)))
    child.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not marker.exists()  # a parent already gone when the watch starts counts too: its sentinel is closed
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join(timeout=10)
    while not marker.exists() and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    assert marker.read_text() == "parent gone"


def test_nothing_is_watched_in_a_process_without_a_parent() -> None:
    assert on_parent_exit(lambda: None) is False  # pytest itself was started from a shell
