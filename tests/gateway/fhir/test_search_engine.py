"""Search engine choices a client can see: chronological order for instant ranges, bounded totals, warnings."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.fhir.service import FhirService
from gateway.settings import Settings
from gateway.storage.store import WriteItem
from security.principal import development_principal

BASE = "http://gateway.test/fhir"


def slot(number: int, hour: int, status: str = "free") -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": f"slot-{number:02d}",
        "schedule": {"reference": "Schedule/s1"},
        "status": status,
        "start": f"2026-11-23T{hour:02d}:00:00+01:00",
        "end": f"2026-11-23T{hour:02d}:20:00+01:00",
    }


@pytest.fixture
def service(clean_db: Engine, settings: Settings) -> FhirService:
    service = FhirService(settings.model_copy(update={"search_total_limit": 3}), clean_db)
    # ids in the reverse order of the start times, so id order and time order differ
    hours = [8, 9, 10, 11, 12, 13]
    service.store.bulk_upsert(
        WriteItem("Slot", f"slot-{i:02d}", slot(i, h)) for i, h in zip(range(6, 0, -1), hours, strict=True)
    )
    return service


def search(service: FhirService, *pairs: tuple[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = service.search(development_principal(), "Slot", list(pairs), BASE, strict=False).body
    return body


def match_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["fullUrl"].rsplit("/", 1)[1] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def test_instant_range_results_are_chronological_unless_sorted(service: FhirService) -> None:
    window = (("start", "ge2026-11-23T00:00:00+01:00"), ("start", "le2026-11-23T23:59:59+01:00"))
    assert match_ids(search(service, *window)) == ["slot-06", "slot-05", "slot-04", "slot-03", "slot-02", "slot-01"]
    assert match_ids(search(service, *window, ("_sort", "_id")))[0] == "slot-01"
    assert match_ids(search(service, *window, ("_sort", "-start")))[0] == "slot-01"


def test_total_is_left_out_beyond_the_limit_unless_accurate_is_asked(service: FhirService) -> None:
    window = (("start", "ge2026-11-23"), ("start", "le2026-11-23"))
    assert "total" not in search(service, *window)  # 6 matches, limit 3: counting stops early
    assert search(service, *window, ("_total", "accurate"))["total"] == 6
    assert search(service, *window, ("_summary", "count"))["total"] == 6
    assert search(service, ("_id", "slot-01,slot-02"))["total"] == 2  # under the limit: exact
    assert "total" not in search(service, ("_id", "slot-01"), ("_total", "none"))


def test_ignored_parameter_warning_names_the_parameter(service: FhirService) -> None:
    bundle = search(service, ("colour", "blue"))
    outcome = next(e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome")
    assert outcome["issue"][0]["expression"] == ["parameter:colour"]
    assert outcome["issue"][0]["severity"] == "warning"


def test_status_and_instant_range_search_only_matching_statuses(service: FhirService) -> None:
    service.store.bulk_upsert(
        [WriteItem("Slot", "slot-04", slot(4, 10, "busy")), WriteItem("Slot", "slot-02", slot(2, 12, "busy"))]
    )
    window = (("start", "ge2026-11-23T09:00:00+01:00"), ("start", "le2026-11-23T12:30:00+01:00"))
    assert match_ids(search(service, *window, ("status", "free"))) == ["slot-05", "slot-03"]
    assert match_ids(search(service, *window, ("status", "busy,free"))) == ["slot-05", "slot-04", "slot-03", "slot-02"]
    assert match_ids(search(service, *window, ("status:not", "free"))) == ["slot-04", "slot-02"]
    assert search(service, *window, ("status", "free"), ("_summary", "count"))["total"] == 2
