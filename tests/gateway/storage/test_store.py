"""The versioned store: upserts, no-op rewrites, history, soft delete, If-Match, bulk batches, index rebuild."""

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from gateway.errors import Forbidden, PreconditionFailed
from gateway.storage.db import read_transaction, write_transaction
from gateway.storage.store import INDEX, ResourceStore, WriteItem, content_hash

PARIS = ZoneInfo("Europe/Paris")


def slot(slot_id: str, status: str = "free", start: str = "2026-11-23T09:00:00+01:00") -> dict[str, object]:
    return {
        "resourceType": "Slot",
        "id": slot_id,
        "schedule": {"reference": "Schedule/s1"},
        "status": status,
        "start": start,
        "end": start.replace("09:00", "09:20"),
    }


@pytest.fixture
def store(clean_db: Engine) -> ResourceStore:
    return ResourceStore(clean_db, PARIS)


def write(store: ResourceStore, *items: WriteItem) -> list[str]:
    with write_transaction(store.engine) as conn:
        return [o.outcome for o in store.write(conn, list(items))]


def test_identical_content_creates_no_new_version(store: ResourceStore) -> None:
    assert write(store, WriteItem("Slot", "a", slot("a"), tenant="350000001")) == ["created"]
    assert write(store, WriteItem("Slot", "a", slot("a"))) == ["unchanged"]
    assert write(store, WriteItem("Slot", "a", slot("a", status="busy"))) == ["updated"]
    with read_transaction(store.engine) as conn:
        current = store.read(conn, "Slot", "a")
        versions = store.history(conn, resource_type="Slot", resource_id="a")
    assert current is not None
    assert current.version_id == 2
    assert current.tenant == "350000001"  # kept when a later write names no tenant
    assert [v.version_id for v in versions] == [2, 1]
    assert current.json()["meta"]["versionId"] == "2"


def test_meta_version_fields_do_not_count_as_content() -> None:
    plain = slot("a")
    stamped = {**plain, "meta": {"versionId": "7", "lastUpdated": "2026-01-01T00:00:00Z"}}
    assert content_hash(plain) == content_hash(stamped)
    assert content_hash(plain) != content_hash({**plain, "meta": {"tag": [{"code": "x"}]}})


def test_if_match_checks_the_current_version(store: ResourceStore) -> None:
    write(store, WriteItem("Slot", "a", slot("a")))
    with pytest.raises(PreconditionFailed, match='If-Match W/"3"'):
        write(store, WriteItem("Slot", "a", slot("a", "busy"), if_match=3))
    assert write(store, WriteItem("Slot", "a", slot("a", "busy"), if_match=1)) == ["updated"]


def test_soft_delete_keeps_history_and_drops_indexes(store: ResourceStore) -> None:
    write(store, WriteItem("Slot", "a", slot("a")))
    assert write(store, WriteItem("Slot", "a", None)) == ["deleted"]
    assert write(store, WriteItem("Slot", "a", None)) == ["absent"]
    with read_transaction(store.engine) as conn:
        current = store.read(conn, "Slot", "a")
        history = store.history(conn, resource_type="Slot", resource_id="a")
        indexed = conn.execute(select(func.count()).select_from(INDEX["token"])).scalar_one()
    assert current is not None and current.deleted and current.version_id == 2
    assert [(v.version_id, v.method) for v in history] == [(2, "DELETE"), (1, "PUT")]
    assert indexed == 0
    assert write(store, WriteItem("Slot", "a", slot("a"))) == ["created"]  # re-created as version 3


def test_bulk_upsert_handles_repeated_ids_in_one_stream(store: ResourceStore) -> None:
    items = [WriteItem("Slot", f"s{i % 3}", slot(f"s{i % 3}", "free" if i < 3 else "busy")) for i in range(6)]
    counts = store.bulk_upsert(items, batch_size=4)
    assert counts == {"created": 3, "updated": 3}
    with read_transaction(store.engine) as conn:
        assert store.count(conn, "Slot") == 3
        assert all(store.read(conn, "Slot", f"s{i}").version_id == 2 for i in range(3))  # type: ignore[union-attr]


def test_failed_transaction_stores_nothing(store: ResourceStore) -> None:
    write(store, WriteItem("Slot", "a", slot("a")))
    with pytest.raises(PreconditionFailed), write_transaction(store.engine) as conn:
        store.write(conn, [WriteItem("Slot", "b", slot("b")), WriteItem("Slot", "a", slot("a", "busy"), if_match=9)])
    with read_transaction(store.engine) as conn:
        assert store.read(conn, "Slot", "b") is None


def test_reindex_rebuilds_identical_indexes(store: ResourceStore) -> None:
    store.bulk_upsert(WriteItem("Slot", f"s{i}", slot(f"s{i}")) for i in range(25))

    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        with read_transaction(store.engine) as conn:
            return {
                kind: sorted(tuple(r)[1:] for r in conn.execute(select(table)))  # without the surrogate key
                for kind, table in INDEX.items()
            }

    before = snapshot()
    with write_transaction(store.engine) as conn:
        assert store.reindex(conn) == 25
    assert snapshot() == before
    assert len(before["token"]) == 25 and len(before["date"]) == 50 and len(before["reference"]) == 25


def test_a_write_never_replaces_a_resource_of_another_tenant(store: ResourceStore) -> None:
    write(store, WriteItem("Slot", "a", slot("a"), tenant="350000001"))
    intruder = WriteItem("Slot", "a", slot("a", "busy"), tenant="350000002", owners=frozenset({"350000002", None}))
    with pytest.raises(Forbidden, match="Slot/a belongs to another centre") as refused:
        write(store, intruder)
    assert refused.value.code == "SEC-TENANT"
    owner = WriteItem("Slot", "a", slot("a", "busy"), tenant="350000001", owners=frozenset({"350000001", None}))
    assert write(store, owner) == ["updated"]
