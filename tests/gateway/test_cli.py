"""The command line, run as a user would: the installed ``cpts-gateway`` script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.settings import Settings
from gateway.storage.db import make_engine

SCRIPT = Path(sys.executable).with_name("cpts-gateway")


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPTS_DATABASE_URL": f"sqlite:///{db}", "CPTS_LOG_LEVEL": "WARNING"}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def count(db: Path, sql: str) -> int:
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        value = int(conn.execute(text(sql)).scalar_one())
    engine.dispose()
    return value


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    return db, run(db, "demo", "--centres", "2", "--days", "2", "--start", "2026-03-28", "--if-empty")


def test_demo_seeds_a_validated_territory_and_prints_a_summary(
    seeded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    db, result = seeded
    assert result.returncode == 0, result.stderr
    assert "demo territory: 2 centres from 2026-03-28" in result.stdout
    slots = count(db, "SELECT COUNT(*) FROM resource WHERE res_type = 'Slot'")
    assert f"Slot {slots:>8}".split() == next(line for line in result.stdout.split("\n") if "Slot" in line).split()
    assert count(db, "SELECT COUNT(*) FROM resource WHERE res_type = 'Organization'") == 3  # the CPTS and 2 centres


def test_demo_if_empty_is_idempotent(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, _ = seeded
    before = count(db, "SELECT COUNT(*) FROM resource_version")
    again = run(db, "demo", "--centres", "2", "--days", "2", "--start", "2026-03-28", "--if-empty")
    assert again.returncode == 0
    assert "nothing seeded" in again.stdout
    assert count(db, "SELECT COUNT(*) FROM resource_version") == before


def test_demo_reseeded_with_same_options_creates_no_new_version(
    seeded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    db, _ = seeded
    before = count(db, "SELECT COUNT(*) FROM resource_version")
    again = run(db, "demo", "--centres", "2", "--days", "2", "--start", "2026-03-28")
    assert again.returncode == 0, again.stderr
    assert count(db, "SELECT COUNT(*) FROM resource_version") == before  # deterministic ids, identical content


def test_reindex_rebuilds_the_same_number_of_rows(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, _ = seeded
    before = count(db, "SELECT COUNT(*) FROM search_token") + count(db, "SELECT COUNT(*) FROM search_reference")
    result = run(db, "reindex")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("reindexed ")
    after = count(db, "SELECT COUNT(*) FROM search_token") + count(db, "SELECT COUNT(*) FROM search_reference")
    assert after == before > 0


def test_bad_arguments_give_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = run(tmp_path / "x.db", "demo", "--start", "23/11/2026")
    assert result.returncode == 2
    assert "is not a date like 2026-11-23" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_production_with_development_settings(tmp_path: Path) -> None:
    env_result = subprocess.run(
        [str(SCRIPT), "serve", "--port", "1"],
        env={**os.environ, "CPTS_ENV": "production", "CPTS_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert env_result.returncode == 4
    assert "CPTS_ENV=production refuses these settings" in env_result.stderr
    assert "CPTS_SIGNING_KEY_FILE" in env_result.stderr


def test_demo_if_empty_seeds_a_database_holding_only_the_gateways_definitions(
    tmp_path: Path, settings: Settings
) -> None:
    """A server started first stores the indicator definitions: the database is still empty of centres' data."""
    from gateway.indicators.loader import load_measures, store_measures
    from gateway.storage import migrate

    db = tmp_path / "first-served.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    # the session's keys: a store built with other keys would install their protector for the whole test process
    store_measures(engine, settings.model_copy(update={"database_url": f"sqlite:///{db}"}), load_measures())
    engine.dispose()
    result = run(db, "demo", "--centres", "1", "--days", "1", "--start", "2026-03-28", "--if-empty")
    assert result.returncode == 0, result.stderr
    assert "nothing seeded" not in result.stdout
    assert count(db, "SELECT COUNT(*) FROM resource WHERE res_type = 'Organization'") == 2
