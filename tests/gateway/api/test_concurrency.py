"""Concurrent writes over real HTTP: FHIR R4 §3.1.0.6 managing resource contention (version-aware updates).

Each thread has its own HTTP client; a barrier releases the requests together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import httpx
from builders import assert_outcome, patient, practitioner, put, search, slot

T = TypeVar("T")


def _together(live_server: str, jobs: list[Callable[[httpx.Client], T]]) -> list[T]:
    """Run each job in its own thread with its own client, released at the same moment; results in job order."""
    barrier = threading.Barrier(len(jobs))
    results: list[T | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[httpx.Client], T]) -> None:
        try:
            with httpx.Client(base_url=live_server, timeout=60) as http:
                http.get("/healthz")  # connect before the barrier, so the requests really overlap
                barrier.wait(timeout=30)
                results[index] = job(http)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return [r for r in results if r is not None]


def test_concurrent_updates_with_the_same_if_match_one_wins(client: httpx.Client, live_server: str) -> None:
    """§3.1.0.6: two updates based on the same version -- exactly one 200, the other 412; ten rounds."""
    put(client, patient("Dupré", "Marie", birth_date="1948-08-12", resource_id="pat-race"))

    for round_number in range(1, 11):
        version = round_number  # the version both writers have read

        def update(gender: str, version: int = version) -> Callable[[httpx.Client], httpx.Response]:
            body = patient(
                "Dupré", "Marie", gender=gender, birth_date=f"19{40 + version}-01-01", resource_id="pat-race"
            )
            return lambda http: http.put("/fhir/Patient/pat-race", json=body, headers={"If-Match": f'W/"{version}"'})

        responses = _together(live_server, [update("male"), update("other")])

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 412], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200)
        loser = next(r for r in responses if r.status_code == 412)
        assert_outcome(loser, 412)
        assert winner.json()["meta"]["versionId"] == str(version + 1)
        current = client.get("/fhir/Patient/pat-race").json()
        assert current["meta"]["versionId"] == str(version + 1)
        assert current["gender"] == winner.json()["gender"]

    history = client.get("/fhir/Patient/pat-race/_history").json()
    assert history["total"] == 11
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == [str(v) for v in range(11, 0, -1)]


def test_concurrent_creates_of_distinct_resources_all_succeed(client: httpx.Client, live_server: str) -> None:
    count = 12

    def create(n: int) -> Callable[[httpx.Client], httpx.Response]:
        body = practitioner(f"100012345{n:02d}", "Martin", f"Paul{n}")
        return lambda http: http.post("/fhir/Practitioner", json=body)

    responses = _together(live_server, [create(n) for n in range(count)])

    assert [r.status_code for r in responses] == [201] * count, [r.text for r in responses if r.status_code != 201]
    created = {r.json()["id"] for r in responses}
    assert len(created) == count
    found = search(client, "/fhir/Practitioner", {"_count": "100"})
    assert found["total"] == count
    assert {e["resource"]["id"] for e in found["entry"]} == created


def test_concurrent_puts_creating_distinct_slots_all_succeed(client: httpx.Client, live_server: str) -> None:
    count = 12

    def create(n: int) -> Callable[[httpx.Client], httpx.Response]:
        body = slot("sch-1", f"2026-03-02T{8 + n:02d}:00:00+01:00", resource_id=f"slot-{n}")
        return lambda http: http.put(f"/fhir/Slot/slot-{n}", json=body)

    responses = _together(live_server, [create(n) for n in range(count)])

    assert [r.status_code for r in responses] == [201] * count
    assert search(client, "/fhir/Slot", {"schedule": "sch-1", "_summary": "count"})["total"] == count


def test_concurrent_creates_of_the_same_new_resource_do_not_fail(client: httpx.Client, live_server: str) -> None:
    """A retried create racing its first attempt (same deterministic id): one creates, the others find it done."""
    body = practitioner("10001234567", "Dupré", "Élise")

    responses = _together(live_server, [lambda http: http.post("/fhir/Practitioner", json=body)] * 6)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert {r.json()["meta"]["versionId"] for r in responses} == {"1"}
    assert search(client, "/fhir/Practitioner", {"_summary": "count"})["total"] == 1
