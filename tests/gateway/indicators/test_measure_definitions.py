"""The indicator definitions under mappings/measures/: every file loads and gives a valid FHIR R4 Measure; a bad
file is refused naming the file and the field path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gateway.fhir.validation import validate_resource
from gateway.indicators.definitions import ROOT, MeasureFileError, load_definitions
from gateway.indicators.documentation import BEGIN, END, definitions_table
from gateway.indicators.loader import load_measures
from gateway.indicators.measure import AUDIENCE, MASKING, to_measure

INDICATORS = {
    "IND-NOSHOW", "IND-OCCUPANCY", "IND-SNP-OFFER", "IND-SNP-USE", "IND-THIRD-NEXT", "IND-OPENING", "IND-PICKUP",
    "IND-PATHWAY", "IND-MT", "IND-CCAM", "IND-REJECT", "IND-UNPAID",
}  # fmt: skip
CENTRE_ONLY = {"IND-CCAM", "IND-REJECT", "IND-UNPAID"}


def test_every_indicator_of_the_architecture_is_defined_once() -> None:
    definitions = load_definitions()
    assert {d.id for d in definitions} == INDICATORS
    assert sorted(p.name for p in ROOT.glob("*.yaml")) == sorted(f"{i.lower()}.yaml" for i in INDICATORS)


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_file_gives_a_valid_measure(path: Path) -> None:
    (measure,) = [m for m in load_measures() if m.file == f"mappings/measures/{path.name}"]
    resource = measure.resource
    validate_resource(resource, expected_type="Measure")  # the strict walker and the fhir.resources R4B model
    indicator = measure.definition.id
    assert resource["id"] == indicator.lower()
    assert resource["url"] == f"urn:cpts-gateway:measure:{indicator}"
    assert resource["identifier"] == [{"system": "urn:cpts-gateway:indicator", "value": indicator}]
    assert resource["status"] == "active"
    translation = resource["_description"]["extension"][0]
    assert translation["url"] == "http://hl7.org/fhir/StructureDefinition/translation"
    assert translation["extension"] == [
        {"url": "lang", "valueCode": "en"},
        {"url": "content", "valueString": measure.definition.description.en},
    ]
    assert resource["description"] == measure.definition.description.fr
    scoring = resource["scoring"]["coding"][0]["code"]
    for group in resource["group"]:
        codes = [p["code"]["coding"][0]["code"] for p in group["population"]]
        needed = {"proportion": {"numerator", "denominator"}, "ratio": {"numerator", "denominator"}}.get(
            scoring, {"measure-population", "measure-observation"}
        )
        assert needed <= set(codes)
        keys = [p["criteria"]["expression"] for p in group["population"]]
        assert len(set(keys)) == len(keys)
        assert all(key.startswith(f"{indicator}.{group['id']}.") for key in keys)
    assert to_measure(measure.definition) == resource  # deterministic


def test_audiences_and_masking() -> None:
    for measure in load_measures():
        audience = [e["valueCode"] for e in measure.resource["extension"] if e["url"] == AUDIENCE]
        masking = [e for e in measure.resource["extension"] if e["url"] == MASKING]
        if measure.definition.id in CENTRE_ONLY:
            assert audience == ["centre"] and masking == []
        else:
            assert audience == ["centre", "coordinator"]
            parts = {e["url"]: e for e in masking[0]["extension"]}
            assert parts["setting"]["valueString"] == "indicator_small_count_max"
            assert parts["defaultMax"]["valueInteger"] == 10


def _broken(tmp_path: Path, change: dict[str, object], name: str = "ind-noshow.yaml") -> Path:
    data = yaml.safe_load((ROOT / "ind-noshow.yaml").read_text(encoding="utf-8"))
    for dotted, value in change.items():
        target = data
        *parents, last = dotted.split("/")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is None:
            del target[int(last) if isinstance(target, list) else last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    (tmp_path / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            {"groups/0/populations/3/code": "numerator2"},
            "groups[0].populations[3].code",
            "'numerator2' is not a measure-population code",
        ),
        ({"groups/0/populations/3": None}, "groups[0].populations", "a proportion measure needs numerator"),
        (
            {"groups/0/populations/1/code": "measure-population"},
            "groups[0].populations[1].code",
            "not allowed in a proportion",
        ),
        ({"scoring": "cohort"}, "scoring", "Input should be"),
        ({"audiences": ["centre"]}, "audiences", "Extra inputs are not permitted"),
        ({"audience": ["centre", "regulator"]}, "audience[1]", "Input should be"),
        ({"masking": None}, "", "masking is given when coordinators see the indicator"),
        ({"title/en": ""}, "title.en", "at least 1 character"),
        ({"groups/0/stratifiers/0/key": "postcode"}, "groups[0].stratifiers[0].key", "Input should be"),
        ({"id": "IND-OTHER"}, "id", "must match the file name"),
    ],
)
def test_a_broken_file_is_refused_naming_file_and_field(
    tmp_path: Path, change: dict[str, object], where: str, message: str
) -> None:
    root = _broken(tmp_path, change)
    with pytest.raises(MeasureFileError) as caught:
        load_measures(root)
    assert caught.value.file == str(root / "ind-noshow.yaml")
    assert caught.value.key == where
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{root / 'ind-noshow.yaml'}: ")


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "ind-x.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(MeasureFileError, match="not readable YAML"):
        load_measures(tmp_path)
    (tmp_path / "ind-x.yaml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(MeasureFileError, match="holds a mapping"):
        load_measures(tmp_path)


def test_the_gateways_own_files_are_named_from_the_repository(tmp_path: Path) -> None:
    shutil.copytree(ROOT, tmp_path / "measures")
    assert next(m.file for m in load_measures()).startswith("mappings/measures/")
    assert [m.definition.id for m in load_measures(tmp_path / "measures")] == sorted(INDICATORS)


def test_the_documentation_table_is_up_to_date() -> None:
    page = (ROOT.parents[1] / "docs" / "indicators.md").read_text(encoding="utf-8")
    expected = definitions_table(load_definitions())
    start, end = page.index(BEGIN), page.index(END) + len(END) + 1
    assert page[start:end] == expected, f"regenerate the table of docs/indicators.md:\n{expected}"


def test_the_masking_setting_the_definitions_name_exists() -> None:
    from gateway.indicators.definitions import MASK_SETTING
    from gateway.settings import Settings

    assert MASK_SETTING in Settings.model_fields
    assert Settings().indicator_small_count_max == 10
