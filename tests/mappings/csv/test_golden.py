"""Golden files of the CSV export mappings: ``tests/data/csv/<vendor>/<export>/<case>.csv`` is read with that vendor's
layout, each row mapped and validated (``prepare``), and the outcome compared with ``<case>.expected.json``: the
resources each accepted row produces (with their write mode), the issues of each rejected row, or the file-level
error. ``CPTS_REGENERATE_GOLDEN=1`` rewrites the expected files instead (review the diff by eye before committing).

Invariants hold over every golden sample: ids unique within a row, no empty element anywhere, every conditional
reference names ``system|value``, and every row is either mapped or rejected with a located issue.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.errors import AdapterError
from gateway.ingest.prepare import prepare
from gateway.ingest.records import ReadSummary, csv_records
from mappings.catalog import Catalog, default_catalog
from mappings.registry import MapContext

DATA = Path(__file__).resolve().parents[2] / "data" / "csv"
CASES = sorted(DATA.glob("*/*/*.csv"))
TENANT = "759900426"  # a demo-range FINESS (département 75, serial 42, Luhn key)
ZONE = ZoneInfo("Europe/Paris")
REGENERATE = os.environ.get("CPTS_REGENERATE_GOLDEN") == "1"
CONDITIONAL = re.compile(r"^[A-Z][A-Za-z]+\?identifier=[^|\s]+\|\S")


def case_id(path: Path) -> str:
    return str(path.relative_to(DATA).with_suffix(""))


@cache
def catalog() -> Catalog:
    return default_catalog()


def run_case(path: Path) -> dict[str, Any]:
    """The outcome of mapping one golden CSV file, as a JSON-ready dict."""
    vendor, export = path.parent.parent.name, path.parent.name
    summary = ReadSummary()
    ctx = MapContext(TENANT, ZONE)
    outcome: dict[str, Any] = {"vendor": vendor, "export": export}
    try:
        records = list(csv_records(path.read_bytes(), path.name, catalog(), export, vendor, ZONE, summary))
    except AdapterError as error:
        outcome["error"] = {"code": error.code, "message": error.message, "location": error.location}
        return outcome
    outcome["read"] = dict(summary.facts)
    rows = []
    for record in records:
        prepared = prepare(record, catalog(), ctx)
        row: dict[str, Any] = {"location": record.location}
        if prepared.rejected:
            row["issues"] = [
                {
                    "severity": issue.severity,
                    "code": issue.details_code,
                    "message": issue.diagnostics,
                    "location": list(issue.expression),
                }
                for issue in prepared.issues
            ]
        else:
            row["resources"] = [
                {"mode": produced.mode, "mapping": produced.mapping, "resource": produced.resource}
                for produced in prepared.produced
            ]
        rows.append(row)
    outcome["rows"] = rows
    return outcome


@cache
def outcome_of(path: Path) -> str:
    return json.dumps(run_case(path), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def test_there_are_golden_samples_for_every_layout() -> None:
    covered = {(path.parent.parent.name, path.parent.name) for path in CASES}
    assert set(catalog().layouts) <= covered


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_golden(path: Path) -> None:
    expected_path = path.with_name(path.stem + ".expected.json")
    actual = outcome_of(path)
    if REGENERATE:
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"no {expected_path.name}: run with CPTS_REGENERATE_GOLDEN=1 and review it"
    assert json.loads(actual) == json.loads(expected_path.read_text(encoding="utf-8"))


def _empty_elements(node: Any, path: str) -> list[str]:
    if node is None or node == "" or node == [] or node == {}:
        return [path]
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _empty_elements(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _empty_elements(value, f"{path}[{index}]")
    return found


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_invariants(path: Path) -> None:
    outcome = json.loads(outcome_of(path))
    for row in outcome.get("rows", []):
        where = row["location"]
        assert ("resources" in row) != ("issues" in row), where
        if "issues" in row:
            assert row["issues"], where
            assert all(issue["location"] for issue in row["issues"]), f"{where}: an issue without a location"
            continue
        keys = [(item["resource"]["resourceType"], item["resource"]["id"]) for item in row["resources"]]
        assert len(keys) == len(set(keys)), f"{where}: an id is produced twice"
        for item in row["resources"]:
            resource = item["resource"]
            assert _empty_elements(resource, resource["resourceType"]) == [], where
            for reference in _references(resource):
                assert "?" not in reference or CONDITIONAL.match(reference), f"{where}: {reference}"
