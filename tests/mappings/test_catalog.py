"""Mapping files are checked at start-up: a bad one stops the gateway naming the file and the key."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from mappings.catalog import ROOT, load_catalog
from mappings.issues import MappingFileError


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    return tmp_path


PATIENT = """
    resource: Patient
    rules:
      - to: identifier[]
        rules:
          - {to: system, transform: {fn: tenant_system, args: {kind: ipp}}}
          - {to: value, from: PID-3.1, required: true}
      - {to: gender, from: PID-8, table: sex}
"""
MESSAGE = """
    events: [ADT^A04]
    requires: [PID]
    produce:
      - {mapping: patient, required: true}
"""
SEX = "table: sex\ndescription: HL7 0001\nmap: {F: female, M: male}\n"


def test_the_shipped_mappings_load() -> None:
    catalog = load_catalog()
    assert catalog.hl7v2 and catalog.csv and catalog.layouts
    assert len(catalog.version) == 12


def test_a_valid_tree_loads_and_maps(tmp_path: Path) -> None:
    root = tree(tmp_path, {"codes/sex.yaml": SEX, "hl7v2/resources/patient.yaml": PATIENT,
                           "hl7v2/messages/adt.yaml": MESSAGE})  # fmt: skip
    catalog = load_catalog(root)
    assert set(catalog.hl7v2) == {"ADT^A04"}
    assert catalog.hl7v2["ADT^A04"].used_fields() == {"PID", "PID-3", "PID-8"}


@pytest.mark.parametrize(
    ("files", "where", "words"),
    [
        (
            {"hl7v2/resources/patient.yaml": "resource: Patient\nrules:\n  - {to: gender, form: PID-8}\n"},
            "hl7v2/resources/patient.yaml: rules.0",
            "form",
        ),
        (
            {"hl7v2/resources/patient.yaml": PATIENT.replace("tenant_system", "tenant_sistem")},
            "hl7v2/resources/patient.yaml: rules[0].rules[0].transform",
            "unknown transform 'tenant_sistem'",
        ),
        (
            {"hl7v2/resources/patient.yaml": PATIENT.replace("table: sex", "table: gender")},
            "hl7v2/resources/patient.yaml: rules[1].table",
            "unknown code table 'gender'",
        ),
        (
            {"hl7v2/messages/adt.yaml": MESSAGE.replace("mapping: patient", "mapping: patients")},
            "hl7v2/messages/adt.yaml: produce[0].mapping",
            "unknown resource mapping 'patients'",
        ),
        ({"hl7v2/messages/other.yaml": MESSAGE}, "hl7v2/messages/other.yaml: events", "ADT^A04 is already mapped"),
        ({"codes/sex.yaml": "table: sex\ndescription: x\nmap: [F, M]\n"}, "codes/sex.yaml: map", "dictionary"),
        ({"codes/sex.yaml": "table: sex\nmap: {\n"}, "codes/sex.yaml", "not readable YAML"),
        (
            {"hl7v2/resources/patient.yaml": "resource: Patient\nrules:\n  - {to: a, from: PID-8, const: x}\n"},
            "hl7v2/resources/patient.yaml: rules.0",
            "one of from / const / rules",
        ),
        (
            {"hl7v2/resources/patient.yaml": "resource: Patient\nrules:\n  - {to: 'a[].b', from: PID-8}\n"},
            "hl7v2/resources/patient.yaml: rules.0",
            "only the last step",
        ),
    ],
)
def test_a_bad_file_names_the_file_the_key_and_the_reason(
    tmp_path: Path, files: dict[str, str], where: str, words: str
) -> None:
    base = {"codes/sex.yaml": SEX, "hl7v2/resources/patient.yaml": PATIENT, "hl7v2/messages/adt.yaml": MESSAGE}
    root = tree(tmp_path, {**base, **files})
    with pytest.raises(MappingFileError) as caught:
        load_catalog(root)
    assert str(caught.value).startswith(where), str(caught.value)
    assert words in str(caught.value)


def test_a_vendor_layout_is_checked_against_its_export(tmp_path: Path) -> None:
    shutil.copytree(ROOT, tmp_path / "m", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    layout = tmp_path / "m" / "csv" / "reference" / "appointments.yaml"
    text = layout.read_text(encoding="utf-8")
    field = text.split("field:", 1)[1].split()[0].strip(",}")
    layout.write_text(text.replace(f"field: {field}", "field: no_such_field", 1), encoding="utf-8")
    with pytest.raises(MappingFileError) as caught:
        load_catalog(tmp_path / "m")
    assert "csv/reference/appointments.yaml" in str(caught.value)
    assert "no_such_field" in str(caught.value)
