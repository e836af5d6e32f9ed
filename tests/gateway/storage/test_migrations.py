"""Alembic migrations: they build exactly the schema the models describe, and run forwards, backwards, forwards."""

import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from gateway.storage import migrate
from gateway.storage.db import make_engine
from gateway.storage.slot_rows import SLOT_TYPE_SYSTEM


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    assert migrate.is_current(engine)


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    migrate.upgrade(engine)
    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate.upgrade(engine)
    assert "search_token" in inspect(engine).get_table_names()
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_capacity_revision_gives_slots_stored_before_it_their_row(tmp_path: Path) -> None:
    """0005 backfills ``search_slot`` from the Slots already stored (a database upgraded in place), 0009 their SAS
    fragments."""
    engine = make_engine(f"sqlite:///{tmp_path}/b.db")
    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
    slot = {
        "resourceType": "Slot", "id": "s1", "meta": {"security": [{"system": SLOT_TYPE_SYSTEM, "code": "SNP"}]},
        "schedule": {"reference": "Schedule/sch"}, "status": "free",
        "start": "2030-03-11T08:00:00+01:00", "end": "2030-03-11T08:15:00+01:00",
    }  # fmt: skip
    with engine.begin() as conn:
        for rid, (resource, deleted) in enumerate(((slot, False), ({**slot, "id": "s2"}, True)), start=1):
            conn.execute(
                text(
                    "INSERT INTO resource (res_type, res_id, rid, tenant, version_id, last_updated, deleted, "
                    "content_hash, content) VALUES ('Slot', :id, :rid, NULL, 1, '2030-01-01 00:00:00.000000', "
                    ":deleted, 'h', :content)"
                ),
                {"id": resource["id"], "rid": rid, "deleted": deleted, "content": json.dumps(resource)},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT rid, schedule_id, status, low, kinds FROM search_slot")).all()
        versions = conn.execute(text("SELECT count(*) FROM directory_version")).scalar_one()
        sas, links = conn.execute(text("SELECT sas, links FROM search_slot")).one()
    assert [tuple(r) for r in rows] == [(1, "sch", "free", "2030-03-11 07:00:00.000000", " SNP ")]  # deleted: none
    assert versions == 6
    # 0009 prepares its SAS rendering (gateway/sas/fragments.py)
    assert (json.loads(sas)["id"], "start" in json.loads(sas)) == ("s1", False)
    assert json.loads(links) == {"schedule": {"reference": "Schedule/sch"}}
    engine.dispose()


def test_snp_index_revision_drops_codes_too_long_for_an_index_entry(tmp_path: Path) -> None:
    """0010 adds ``codes`` to ``ix_slot_snp``; a text longer than an index entry may hold (written before the store
    capped it) is emptied first: that Slot's token filters probe the token index instead."""
    engine = make_engine(f"sqlite:///{tmp_path}/c.db")
    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
    short, long = " specialty=urn:x|A ", " " + " ".join(f"specialty=urn:x|{'é' * 30}{n}" for n in range(20)) + " "
    with engine.begin() as conn:
        for rid, codes in ((1, short), (2, long)):
            conn.execute(
                text(
                    "INSERT INTO search_slot (res_type, rid, res_id, kinds, status, low, high, codes) "
                    "VALUES ('Slot', :rid, :id, ' SNP ', 'free', :at, :at, :c)"
                ),
                {"rid": rid, "id": f"s{rid}", "at": "2030-03-11 07:00:00.000000", "c": codes},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT rid, codes FROM search_slot ORDER BY rid")).all()
    assert [tuple(row) for row in kept] == [(1, short), (2, None)]
    assert "codes" in {
        c for i in inspect(engine).get_indexes("search_slot") if i["name"] == "ix_slot_snp" for c in i["column_names"]
    }
    engine.dispose()
