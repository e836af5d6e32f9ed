"""The suite's model stays coherent: requirement catalog, locked short ids, coverage file, documented inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.catalog import CatalogError, catalog, read_catalog
from conformance.coverage import COVERAGE_FILE, coverage_text, problems
from conformance.inputs import InputError, resolve, specs
from conformance.registry import load_checks, short_ids

SHORT_IDS = Path(__file__).parents[2] / "conformance" / "short_ids.yaml"


def test_conformance_coverage_file_is_current_and_complete() -> None:
    assert COVERAGE_FILE.read_text(encoding="utf-8") == coverage_text(), "run: cpts-gateway conformance coverage"
    assert problems() == []


def test_conformance_coverage_finds_an_uncovered_shall(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text(
        "id,source,conformance,actor,text,not_tested_reason\nX-1,here,SHALL,SI,something,\n", encoding="utf-8"
    )
    requirements = read_catalog(tmp_path)
    assert requirements["X-1"].mandatory and not requirements["X-1"].not_tested_reason


def test_conformance_catalog_refuses_a_bad_level(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("id,source,conformance,actor,text,not_tested_reason\nX-1,a,MUST,b,c,\n")
    with pytest.raises(CatalogError, match=r"x\.csv:2"):
        read_catalog(tmp_path)


def test_conformance_short_ids_are_locked() -> None:
    locked: dict[str, str] = yaml.safe_load(SHORT_IDS.read_text(encoding="utf-8"))["short_ids"]
    assert short_ids() == locked
    checks = load_checks()
    assert set(checks) <= set(locked), "give each new check the next short id of its area in short_ids.yaml"
    assert len(set(locked.values())) == len(locked)
    for check_id, short in locked.items():
        if check_id in checks:
            group = short.split(".")[0]
            assert all(locked[c].split(".")[0] == group for c in checks if checks[c].group == checks[check_id].group)


def test_conformance_checks_are_described_and_linked() -> None:
    requirements = catalog()
    for check in load_checks().values():
        assert check.title and check.description and check.source and check.fix, check.id
        assert check.verifies and all(r in requirements for r in check.verifies), check.id
        assert all(name in specs() for name in check.inputs), check.id


def test_conformance_inputs_refuse_unknown_keys() -> None:
    assert resolve({"practitioners": "819990000168"})["contract"] == "gap"
    with pytest.raises(InputError, match="practitionner"):
        resolve({"practitionner": "x"})
    with pytest.raises(InputError, match="contract"):
        resolve({"contract": "sass"})
