"""FHIR R4 §3.1.0.10 history: instance, type and system level, newest first, paging and ``_since``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
from builders import (
    assert_outcome,
    expressions,
    fhir_base,
    link,
    patient,
    practitioner,
    put,
    schedule,
    slot,
)


def _history(client: httpx.Client, path: str, params: Any = None) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "Bundle"
    assert body["type"] == "history"
    return body


def _versions(bundle: dict[str, Any]) -> list[str]:
    """``Type/id/vid`` of each entry (a deletion has no resource: its etag-less entry gives ``DELETE``)."""
    out = []
    for entry in bundle.get("entry", []):
        url = entry["request"]["url"] if entry["request"]["method"] != "POST" else entry["resource"]["resourceType"]
        if "resource" in entry:
            resource = entry["resource"]
            out.append(f"{resource['resourceType']}/{resource['id']}/{resource['meta']['versionId']}")
        else:
            out.append(f"{url}/DELETE")
    return out


def _follow(client: httpx.Client, first: dict[str, Any]) -> list[dict[str, Any]]:
    pages = [first]
    while (url := link(pages[-1], "next")) is not None:
        pages.append(_history(client, url))
        assert len(pages) < 50, "paging does not end"
    return pages


def _tick() -> None:
    """Versions of different resources written in the same millisecond have no defined order: keep them apart."""
    time.sleep(0.003)


def _write_versions(client: httpx.Client) -> None:
    """Patient/p1 v1, v2, deleted (v3), v4; Practitioner/pr1 v1; Patient/p2 v1 -- in that order."""
    put(client, patient("Dupré", "Marie", resource_id="p1"))
    put(client, patient("Dupré", "Marie", gender="other", resource_id="p1"))
    assert client.delete("/fhir/Patient/p1").status_code == 204
    put(client, patient("Dupré", "Marie", gender="unknown", resource_id="p1"))
    _tick()
    put(client, practitioner("10001234567", "Martin", "Paul", resource_id="pr1"))
    _tick()
    put(client, patient("Leroy", "Jeanne", resource_id="p2"))


def test_instance_history_lists_every_version_newest_first(client: httpx.Client) -> None:
    """§3.1.0.10: GET [type]/[id]/_history -> every version including deletions, newest first, with total."""
    _write_versions(client)

    bundle = _history(client, "/fhir/Patient/p1/_history")

    assert bundle["total"] == 4
    assert _versions(bundle) == ["Patient/p1/4", "Patient/p1/DELETE", "Patient/p1/2", "Patient/p1/1"]
    assert [e["request"]["method"] for e in bundle["entry"]] == ["PUT", "DELETE", "PUT", "PUT"]
    assert [e["response"]["status"] for e in bundle["entry"]] == ["200 OK", "204 No Content", "200 OK", "201 Created"]
    assert [e["fullUrl"] for e in bundle["entry"]] == [f"{fhir_base(client)}/Patient/p1"] * 4
    assert bundle["entry"][0]["resource"]["gender"] == "unknown"
    assert bundle["entry"][2]["resource"]["gender"] == "other"
    assert link(bundle, "self") == f"{fhir_base(client)}/Patient/p1/_history"
    assert link(bundle, "next") is None


def test_type_history_holds_only_that_type(client: httpx.Client) -> None:
    """§3.1.0.10: GET [type]/_history -> the versions of every resource of the type."""
    _write_versions(client)

    bundle = _history(client, "/fhir/Patient/_history")

    assert _versions(bundle) == ["Patient/p2/1", "Patient/p1/4", "Patient/p1/DELETE", "Patient/p1/2", "Patient/p1/1"]
    assert link(bundle, "self") == f"{fhir_base(client)}/Patient/_history"


def test_system_history_holds_every_type_newest_first(client: httpx.Client) -> None:
    """§3.1.0.10: GET [base]/_history -> the versions of all resources, newest first."""
    _write_versions(client)

    bundle = _history(client, "/fhir/_history")

    assert _versions(bundle) == [
        "Patient/p2/1",
        "Practitioner/pr1/1",
        "Patient/p1/4",
        "Patient/p1/DELETE",
        "Patient/p1/2",
        "Patient/p1/1",
    ]
    stamps = [e["response"]["lastModified"] for e in bundle["entry"]]
    assert stamps == sorted(stamps, reverse=True)
    assert link(bundle, "self") == f"{fhir_base(client)}/_history"


def test_history_of_an_unknown_resource_or_type_is_404(client: httpx.Client) -> None:
    assert_outcome(client.get("/fhir/Patient/nobody/_history"), 404)
    assert_outcome(client.get("/fhir/Banana/_history"), 404)


def test_history_of_a_deleted_resource_is_still_available(client: httpx.Client) -> None:
    """§3.1.0.10: history is kept after a delete."""
    put(client, patient("Dupré", "Marie", resource_id="p3"))
    assert client.delete("/fhir/Patient/p3").status_code == 204
    assert _versions(_history(client, "/fhir/Patient/p3/_history")) == ["Patient/p3/DELETE", "Patient/p3/1"]


def _write_slot_versions(client: httpx.Client, count: int) -> list[str]:
    """``count`` versions over a Schedule and its Slots; returns their ``Type/id/vid`` in write order."""
    put(client, schedule(["Practitioner/pr1"], resource_id="sch"))
    written = ["Schedule/sch/1"]
    for n in range(count - 1):
        resource_id = f"slot-{n % 3}"
        version = n // 3 + 1
        start = f"2026-03-02T{8 + n:02d}:00:00+01:00"
        _tick()
        put(client, slot("sch", start, resource_id=resource_id))
        written.append(f"Slot/{resource_id}/{version}")
    return written


def test_history_paging_with_count_and_next_links(client: httpx.Client) -> None:
    """§3.1.0.10 / §3.1.1.5.6 (paging): ``_count`` pages follow ``next`` to the end, each version once."""
    written = _write_slot_versions(client, 11)

    first = _history(client, "/fhir/_history", {"_count": "4"})
    pages = _follow(client, first)

    assert [len(p["entry"]) for p in pages] == [4, 4, 3]
    seen = [v for page in pages for v in _versions(page)]
    assert seen == list(reversed(written))
    assert link(first, "self") == f"{fhir_base(client)}/_history?_count=4"
    next_url = link(first, "next")
    assert next_url is not None
    assert next_url.startswith(f"{fhir_base(client)}/_history?_count=4&_cursor=")


def test_history_paging_stays_correct_when_versions_are_written_between_pages(client: httpx.Client) -> None:
    """§3.1.0.10: a page's next link keeps its position: no duplicates, no losses of the versions already there."""
    written = _write_slot_versions(client, 10)
    first = _history(client, "/fhir/Slot/_history", {"_count": "3"})
    existing = [v for v in reversed(written) if v.startswith("Slot/")]

    put(client, slot("sch", "2026-03-05T08:00:00+01:00", resource_id="slot-0"))  # a newer version of slot-0
    _tick()
    put(client, slot("sch", "2026-03-05T09:00:00+01:00", resource_id="slot-new"))
    second = _history(client, link(first, "next") or "")
    assert client.delete("/fhir/Slot/slot-1").status_code == 204
    rest = _follow(client, second)

    seen = [v for page in [first, *rest] for v in _versions(page)]
    assert len(seen) == len(set(seen))
    assert seen == existing
    assert _versions(first) == existing[:3]


def test_instance_history_paging(client: httpx.Client) -> None:
    for n in range(5):
        put(client, patient("Dupré", "Marie", birth_date=f"194{n}-01-01", resource_id="p4"))
    first = _history(client, "/fhir/Patient/p4/_history", {"_count": "2"})
    assert first["total"] == 5
    pages = _follow(client, first)
    assert [v for p in pages for v in _versions(p)] == [f"Patient/p4/{v}" for v in (5, 4, 3, 2, 1)]


def test_history_since_keeps_versions_at_or_after_the_instant(client: httpx.Client) -> None:
    """§3.1.0.10: ``_since`` (an instant) -> only the versions created at or after it."""
    put(client, patient("Dupré", "Marie", resource_id="p5"))
    put(client, patient("Leroy", "Jeanne", resource_id="p6"))
    _tick()
    later = put(client, patient("Dupré", "Marie", gender="male", resource_id="p5")).json()
    put(client, practitioner("10001234567", "Martin", "Paul", resource_id="pr2"))
    since = later["meta"]["lastUpdated"]
    assert datetime.fromisoformat(since) > datetime.fromisoformat(
        client.get("/fhir/Patient/p6").json()["meta"]["lastUpdated"]
    ), "the versions need distinct instants"

    assert _versions(_history(client, "/fhir/_history", {"_since": since})) == ["Practitioner/pr2/1", "Patient/p5/2"]
    assert _versions(_history(client, "/fhir/Patient/_history", {"_since": since})) == ["Patient/p5/2"]
    assert _versions(_history(client, "/fhir/Patient/p5/_history", {"_since": since})) == ["Patient/p5/2"]
    far = _history(client, "/fhir/_history", {"_since": "2999-01-01T00:00:00Z"})
    assert "entry" not in far


def test_history_with_a_bad_since_or_count_is_400(client: httpx.Client) -> None:
    response = client.get("/fhir/_history", params={"_since": "yesterday"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:_since"]
    response = client.get("/fhir/_history", params={"_count": "-1"})
    assert_outcome(response, 400)
    assert expressions(response) == ["parameter:_count"]
