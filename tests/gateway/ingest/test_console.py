"""``cpts-gateway ingest`` and ``cpts-gateway deadletter`` as a user runs them: exit codes, summary, locations,
no traceback for bad input, and a replay after a fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("cpts-gateway")
DATA = Path(__file__).parents[2] / "data"
TENANT = "350000014"


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPTS_DATABASE_URL": f"sqlite:///{db}", "CPTS_LOG_LEVEL": "WARNING"}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cli.db"


def test_a_clean_file_exits_0_with_a_summary_and_again_as_duplicates(db: Path) -> None:
    sample = DATA / "csv" / "reference" / "appointments" / "same-content.csv"
    first = run(db, "ingest", "--tenant", TENANT, "--format", "csv", "--export", "appointments", str(sample))
    assert first.returncode == 0, first.stdout + first.stderr
    rows = len(sample.read_text(encoding="utf-8").strip().splitlines()) - 1
    header, row = first.stdout.splitlines()[:2]
    assert header.split() == ["file", "accepted", "duplicate", "rejected", "seconds"]
    assert row.split()[:4] == ["same-content.csv", str(rows), "0", "0"]
    again = run(db, "ingest", "--tenant", TENANT, "--format", "csv", "--export", "appointments", str(sample))
    assert again.returncode == 0
    assert again.stdout.splitlines()[1].split()[:4] == ["same-content.csv", "0", str(rows), "0"]


def test_rejected_rows_exit_3_and_are_named_with_file_line_and_column(db: Path) -> None:
    sample = DATA / "csv" / "reference" / "appointments" / "rdv.csv"
    result = run(db, "ingest", "--tenant", TENANT, "--format", "csv", "--export", "appointments", str(sample))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "rdv.csv:5:debut" in result.stdout  # 29/03/2026 02:30 does not exist in Paris
    listed = run(db, "deadletter", "list")
    assert listed.returncode == 0
    assert "rdv.csv:5" in listed.stdout
    letter = listed.stdout.split()[0]
    shown = run(db, "deadletter", "show", letter)
    assert shown.returncode == 0 and "29/03/2026 02:30" in shown.stdout
    replayed = run(db, "deadletter", "replay", letter)
    assert replayed.returncode == 3  # the export is what it is: still failing, still open
    assert "still failing" in replayed.stdout


def test_a_file_that_cannot_be_read_is_refused_whole_with_its_reason(db: Path, tmp_path: Path) -> None:
    broken = tmp_path / "rdv.csv"
    broken.write_bytes(b"id_rdv;ipp\r\n\x81\x8d\x8f;\xff\xfe\r\n")
    result = run(db, "ingest", "--tenant", TENANT, "--format", "csv", "--export", "appointments", str(broken))
    assert result.returncode == 3
    assert "the whole file was refused" in result.stdout
    assert "Traceback" not in result.stderr
    missing = run(db, "ingest", "--tenant", TENANT, "--format", "hl7v2", str(tmp_path / "absent.hl7"))
    assert missing.returncode == 4
    assert "cannot read" in missing.stderr and "absent.hl7" in missing.stderr
    usage = run(db, "ingest", "--tenant", TENANT, "--format", "csv", str(broken))
    assert usage.returncode == 4 and "--export" in usage.stderr
