"""Deliveries are leased: two workers draining one outbox never send one notification twice; the worker also runs
inside a serving process (CPTS_SUBSCRIPTION_WORKER)."""

from __future__ import annotations

import argparse
import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import Engine, func, select

from gateway.app import create_app
from gateway.settings import Settings
from gateway.subscriptions.console import cmd_deliver
from gateway.subscriptions.delivery import Deliverer, new_owner
from gateway.subscriptions.outbox import ATTEMPTS, DELIVERIES
from tests.conftest import _free_port, serving
from tests.gateway.subscriptions.conftest import put, subscribe, task
from tests.gateway.subscriptions.subscription_receiver import receiving

NOTIFICATIONS = 24


def test_two_workers_never_send_one_notification_twice(
    client: httpx.Client, fast_settings: Settings, clean_db: Engine
) -> None:
    with receiving(delay=0.02) as receiver:
        subscribe(client, "Task?status=requested", receiver.url)
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": task(f"t{n}", "requested"), "request": {"method": "PUT", "url": f"Task/t{n}"}}
                for n in range(NOTIFICATIONS)
            ],
        }
        assert client.post("/fhir", json=bundle).status_code == 200
        workers = [Deliverer(fast_settings, clean_db) for _ in range(2)]
        sent: list[int] = []
        start = threading.Barrier(2)

        def work(deliverer: Deliverer) -> None:
            start.wait()
            sent.append(deliverer.run_due(new_owner()))

        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        for worker in workers:
            worker.close()
        received = list(receiver.received)
    copies = Counter(r.headers["x-resource"] for r in received)
    assert len(copies) == NOTIFICATIONS and set(copies.values()) == {1}
    assert sum(sent) == NOTIFICATIONS and all(sent)  # both took part
    with clean_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ATTEMPTS)).scalar_one() == NOTIFICATIONS
        statuses = conn.execute(select(DELIVERIES.c.status, func.count()).group_by(DELIVERIES.c.status)).all()
    assert [tuple(s) for s in statuses] == [("delivered", NOTIFICATIONS)]


def test_a_serving_process_delivers_in_the_background(fast_settings: Settings, clean_db: Engine) -> None:
    served = fast_settings.model_copy(
        update={"subscription_worker": True, "subscription_poll_seconds": 0.1, "ingest_worker": False}
    )
    with (
        receiving([500]) as receiver,
        serving(create_app(served, configure_logs=False), _free_port()) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        subscribe(http, "Task?status=requested", receiver.url)
        put(http, task("t-served", "requested"))
        received = receiver.wait_for(2)  # the first attempt fails; the worker retries after the back-off
    assert [r.headers["x-resource"] for r in received] == ["Task/t-served/_history/1"] * 2


def test_the_worker_runs_alone_from_the_command_line(
    client: httpx.Client, fast_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiving() as receiver:
        subscribe(client, "Task", receiver.url)
        put(client, task("t-cli", "requested"))
        assert cmd_deliver(argparse.Namespace(once=True), fast_settings) == 0
        assert [r.headers["x-resource"] for r in receiver.received] == ["Task/t-cli/_history/1"]
    assert "1 notification attempt(s) sent" in capsys.readouterr().out
