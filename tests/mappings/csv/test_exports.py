"""The CSV export kinds, their vendor layouts and the published format agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mappings.catalog import Catalog, default_catalog
from tests.mappings.csv.test_golden import DATA, run_case

EXPORTS = (
    "practitioners",
    "patients",
    "opening_hours",
    "slots",
    "appointments",
    "acts",
    "calls",
    "claims",
    "pathways",
    "consents",
)
README = Path(__file__).resolve().parents[3] / "mappings" / "csv" / "README.md"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def test_every_export_kind_has_a_mapping_and_a_reference_layout(catalog: Catalog) -> None:
    assert set(catalog.csv) == set(EXPORTS)
    assert {export for vendor, export in catalog.layouts if vendor == "reference"} == set(EXPORTS)


def test_the_second_vendor_covers_the_agenda_and_identity_exports(catalog: Catalog) -> None:
    acme = {export for vendor, export in catalog.layouts if vendor == "acme-sante"}
    assert {"appointments", "slots", "patients", "practitioners"} <= acme


@pytest.mark.parametrize("export", EXPORTS)
def test_every_canonical_field_is_read_by_the_mapping(catalog: Catalog, export: str) -> None:
    assert set(catalog.csv[export].used_fields()) == set(catalog.exports[export].fields)


@pytest.mark.parametrize("export", EXPORTS)
def test_the_reference_layout_fills_every_canonical_field(catalog: Catalog, export: str) -> None:
    layout = catalog.layouts[("reference", export)]
    assert {column.field for column in layout.columns} == set(catalog.exports[export].fields)
    assert layout.ignore == []


def columns_table(section: str) -> str:
    """The lines of the section's column table (the one whose header starts with ``| column |``)."""
    lines = section.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("| column |"))
    end = next((n for n in range(start, len(lines)) if not lines[n].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("export", EXPORTS)
def test_the_published_format_documents_every_reference_column(catalog: Catalog, export: str) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n### {export}\n", 1)
    assert len(section) == 2, f"mappings/csv/README.md has no '### {export}' section"
    body = section[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", columns_table(body), flags=re.MULTILINE))
    layout = catalog.layouts[("reference", export)]
    columns = {column.column for column in layout.columns if isinstance(column.column, str)}
    assert documented == columns
    for column in layout.columns:  # "required" in the README: the column must be in the header
        row = next(line for line in columns_table(body).splitlines() if line.startswith(f"| `{column.column}` |"))
        assert ("| yes |" in row) is not column.optional, f"{export}.{column.column}: the README says otherwise"
        if catalog.exports[export].fields[column.field].required:
            assert not column.optional, f"{export}.{column.column}: a required field needs its column"


def resources(outcome: dict[str, object]) -> list[object]:
    rows = outcome["rows"]
    assert isinstance(rows, list)
    return [[(item["mode"], item["resource"]) for item in row["resources"]] for row in rows]


def test_a_vendor_layout_gives_the_same_resources_as_the_reference_format() -> None:
    reference = run_case(DATA / "reference" / "appointments" / "same-content.csv")
    acme = run_case(DATA / "acme-sante" / "appointments" / "same-content.csv")
    assert all("resources" in row for row in reference["rows"])  # every row maps: nothing hides behind rejections
    assert len(reference["rows"]) == 8
    assert resources(acme) == resources(reference)
    assert acme["read"]["unused_columns"] == []
