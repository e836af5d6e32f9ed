"""Fixtures for pipeline tests: a pipeline on the test database and a helper that ingests and waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.ingest.pipeline import Pipeline, new_owner
from gateway.settings import Settings

Ingest = Callable[..., dict[str, Any]]


@pytest.fixture
def pipeline(settings: Settings, clean_db: Engine) -> Pipeline:
    return Pipeline(settings, clean_db)


def run_ingest(
    pipeline: Pipeline, payload: bytes, *, tenant: str = "350000014", fmt: str = "fhir", **kw: Any
) -> dict[str, Any]:
    """Receive a payload, run its job here (or wait for the live server's worker if it took it first)."""
    owner = new_owner()
    source = kw.pop("source", "test")
    received = pipeline.jobs.receive(payload, tenant=tenant, format=fmt, source=source, owner=owner, **kw)
    job = pipeline.jobs.leased(received.job_id, owner)
    if job is not None:
        pipeline.run(job)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report = pipeline.jobs.report(received.job_id)
        if report["status"] in ("done", "rejected"):
            return report
        time.sleep(0.05)
    raise AssertionError(f"job {received.job_id} did not finish")


@pytest.fixture
def ingest(pipeline: Pipeline) -> Ingest:
    def run(payload: bytes, **kw: Any) -> dict[str, Any]:
        return run_ingest(pipeline, payload, **kw)

    return run
