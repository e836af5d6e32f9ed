"""The protocol files: every one loads and validates; a broken one is refused naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gateway.fhir.validation import validate_resource
from gateway.pathways.loader import PROTOCOLS_DIR, read_protocol, read_protocols
from gateway.pathways.protocols import FIRST_OCCURRENCE_URL, URL_PREFIX, duration_parts, professions
from mappings.issues import MappingFileError

TRE_G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
FILES = sorted(PROTOCOLS_DIR.glob("*.yaml"))


def steps(resource: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each action by id: (the TRE_G15 profession code, the action)."""
    found = {}
    for action in resource["action"]:
        (participant,) = action["participant"]
        assert participant["type"] == "practitioner"
        (coding,) = participant["role"]["coding"]
        assert coding["system"] == TRE_G15
        found[action["id"]] = (coding["code"], action)
    return found


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_protocol_file_loads_and_is_a_valid_plan_definition(path: Path) -> None:
    resource = read_protocol(path)
    assert validate_resource(resource, expected_type="PlanDefinition") is resource
    assert resource["id"] == path.stem
    assert resource["url"] == URL_PREFIX + path.stem
    assert resource["status"] == "active"
    assert resource["type"]["coding"][0]["code"] == "clinical-protocol"
    assert read_protocol(path) == resource  # deterministic


def test_the_three_cpts_protocols_with_their_steps() -> None:
    by_id = {r["id"]: r for r in read_protocols()}
    assert {"cpts-diabetes-t2", "cpts-elderly-frailty", "cpts-return-home"} <= set(by_id)

    diabetes = steps(by_id["cpts-diabetes-t2"])
    profession, review = diabetes["revue-medecin-hba1c"]
    assert profession == "10"
    assert review["timingTiming"]["repeat"] == {"frequency": 1, "period": 3, "periodUnit": "mo"}
    assert diabetes["examen-pieds"][0] == "80"
    assert diabetes["examen-pieds"][1]["timingTiming"]["repeat"]["periodUnit"] == "a"
    assert diabetes["retinographie"][0] == "92"
    profession, education = diabetes["education-therapeutique"]
    assert (profession, education["timingTiming"]["repeat"]["count"]) == ("60", 4)
    assert education["relatedAction"] == [{"actionId": "revue-medecin-hba1c", "relationship": "after"}]

    frailty = steps(by_id["cpts-elderly-frailty"])
    assert {code: p for code, (p, _a) in frailty.items()} == {
        "evaluation-multidimensionnelle": "10",
        "revue-medecin": "10",
        "bilan-medication": "21",
        "prevention-chutes": "70",
    }
    assert frailty["revue-medecin"][1]["timingTiming"]["repeat"]["period"] == 6

    home = steps(by_id["cpts-return-home"])
    nurse = home["visite-infirmiere-domicile"]
    assert nurse[0] == "60"
    assert nurse[1]["timingRange"]["high"] == {
        "value": 48, "unit": "h", "system": "http://unitsofmeasure.org", "code": "h"
    }  # fmt: skip
    assert home["consultation-medecin"][1]["timingRange"]["high"]["value"] == 7
    assert home["conciliation-medicamenteuse"][0] == "21"
    assert home["suivi-30-jours"][1]["timingDuration"]["value"] == 30


def test_titles_carry_their_english_translation() -> None:
    resource = next(r for r in read_protocols() if r["id"] == "cpts-diabetes-t2")
    assert resource["language"] == "fr-FR"
    (translation,) = resource["_title"]["extension"]
    assert {"url": "content", "valueString": "Type 2 diabetes follow-up"} in translation["extension"]


# -- broken files -------------------------------------------------------------------------------------------------
def broken(tmp_path: Path, change: Any) -> Path:
    """A copy of the protocols directory where the diabetes protocol went through ``change``."""
    root = tmp_path / "protocols"
    shutil.copytree(PROTOCOLS_DIR, root)
    path = root / "cpts-diabetes-t2.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


def refusal(root: Path) -> MappingFileError:
    with pytest.raises(MappingFileError) as caught:
        read_protocols(root)
    return caught.value


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda d: d["steps"][1]["timing"].update(every="every year"), "steps[1].timing.every", "a duration is"),
        (lambda d: d["steps"][2].update(profession="99"), "steps[2].profession", "unknown TRE_G15"),
        (lambda d: d["steps"][0].update(colour="blue"), "steps[0].colour", "Extra inputs"),
        (lambda d: d["steps"][0]["timing"].update(count="4"), "steps[0].timing.count", "valid integer"),
        (lambda d: d["steps"][3].update(after=["nowhere"]), "steps[3].after[0]", "no step 'nowhere'"),
        (lambda d: d["steps"][3].update(after=["education-therapeutique"]), "steps[3].after[0]", "follow itself"),
        (lambda d: d["steps"][0].update(after=["education-therapeutique"]), "steps[0].after", "cycle"),
        (lambda d: d["steps"][1].update(code="retinographie"), "steps[2].code", "unique"),
        (lambda d: d["steps"][0].update(timing={"count": 4}), "steps[0].timing", "at least one of"),
        (lambda d: d["steps"][0].update(timing={"start": "2 months", "within": "1 month"}), "steps[0].timing", "after"),
        (lambda d: d.pop("title"), "title", "Field required"),
        (lambda d: d.update(id="cpts-other"), "id", "file's name"),
        (lambda d: d.update(name="lower case"), "name", "should match pattern"),
    ],
)
def test_a_broken_protocol_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, change: Any, key: str, words: str
) -> None:
    error = refusal(broken(tmp_path, change))
    assert error.file.endswith("cpts-diabetes-t2.yaml")
    assert error.key == key
    assert words in error.message
    assert str(error).startswith(f"{error.file}: {key}: ")


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cpts-bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    error = refusal(tmp_path)
    assert error.file.endswith("cpts-bad.yaml")
    assert "YAML" in error.message


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    assert "does not exist" in refusal(tmp_path / "nowhere").message


def test_the_profession_table_has_the_pathway_professions() -> None:
    assert {"10", "21", "60", "70", "80", "92"} <= set(professions())


@given(st.text(max_size=20))
def test_duration_parser_never_crashes(text: str) -> None:
    try:
        value, unit = duration_parts(text)
    except ValueError:
        return
    assert value >= 0
    assert unit in {"h", "d", "wk", "mo", "a"}


@pytest.mark.parametrize(
    ("text", "parts"), [("48 hours", (48, "h")), ("1 day", (1, "d")), ("3 months", (3, "mo")), ("1 year", (1, "a"))]
)
def test_durations(text: str, parts: tuple[int, str]) -> None:
    assert duration_parts(text) == parts


def test_a_repeated_step_keeps_the_window_of_its_first_occurrence_and_its_bounds(tmp_path: Path) -> None:
    def bounded(data: dict[str, Any]) -> None:
        data["steps"][0]["timing"] = {"start": "2 weeks", "within": "1 month", "every": "3 months", "during": "2 years"}

    resource = read_protocol(broken(tmp_path, bounded) / "cpts-diabetes-t2.yaml")
    action = resource["action"][0]
    assert action["timingTiming"]["repeat"]["boundsDuration"]["value"] == 2
    assert action["timingTiming"]["repeat"]["boundsDuration"]["code"] == "a"
    (extension,) = action["extension"]
    assert extension["url"] == FIRST_OCCURRENCE_URL
    assert (extension["valueRange"]["low"]["value"], extension["valueRange"]["low"]["code"]) == (2, "wk")
    assert (extension["valueRange"]["high"]["value"], extension["valueRange"]["high"]["code"]) == (1, "mo")
