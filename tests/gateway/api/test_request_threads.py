"""Reads and searches run in at most ``CPTS_REQUEST_THREADS`` threads per process (gateway/api/threads.py), over
real HTTP: more concurrent requests wait for a thread instead of each taking one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.settings import Settings
from tests.conftest import _free_port, serving


class Overlap:
    """Wraps a service method: counts how many calls run at the same moment. Calls wait for each other in groups of
    ``together`` (a barrier), so that the limit is reached on a machine of any speed, and never passed."""

    def __init__(self, method: Any, together: int) -> None:
        self.method, self.running, self.most = method, 0, 0
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(together, timeout=30)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.barrier.wait()
            return self.method(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize("threads", [1, 3])
def test_searches_run_in_at_most_the_configured_threads(settings: Settings, clean_db: Engine, threads: int) -> None:
    app = create_app(settings.model_copy(update={"request_threads": threads}), configure_logs=False)
    overlap = Overlap(app.state.service.search, threads)
    app.state.service.search = overlap
    requests = 3 * threads + 3  # a whole number of groups, more requests than threads
    with serving(app, _free_port()) as base, ThreadPoolExecutor(requests) as pool:
        answers = list(pool.map(lambda _: httpx.get(f"{base}/fhir/Slot?_count=1", timeout=60), range(requests)))
        assert app.state.request_threads.threads == threads
    assert [a.status_code for a in answers] == [200] * requests
    assert overlap.most == threads
    assert app.state.request_threads is None  # stopped with the application


def test_request_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="request_threads"):
        Settings(request_threads=0)


def test_unset_request_threads_depend_on_the_database() -> None:
    assert Settings(database_url="sqlite:///x.db").threads_per_process == 2
    assert Settings(database_url="postgresql+psycopg://u@h/d").threads_per_process == 4
    assert Settings(database_url="postgresql+psycopg://u@h/d", request_threads=2).threads_per_process == 2


def test_sas_threads_default_to_half_the_request_threads() -> None:
    assert Settings(database_url="sqlite:///x.db").sas_threads_per_process == 1
    assert Settings(database_url="postgresql+psycopg://u@h/d").sas_threads_per_process == 2
    assert Settings(database_url="sqlite:///x.db", request_threads=1).sas_threads_per_process == 1
    assert Settings(database_url="sqlite:///x.db", sas_threads=5).sas_threads_per_process == 2  # never above them
