"""The search parameter registry is data, validated at load time."""

from pathlib import Path

import pytest

from gateway.fhir.resources import SUPPORTED_TYPES
from gateway.fhir.searchparams import RegistryError, _load, registry


def test_every_supported_type_has_parameters() -> None:
    loaded = registry()
    assert set(loaded) == set(SUPPORTED_TYPES)
    assert loaded["Slot"]["start"].instant
    assert loaded["Slot"]["service-type-reference"].targets == ("HealthcareService",)
    assert "_security" in loaded["Patient"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Slot:\n  start: {type: dat, paths: [start]}\n", "Slot.start"),
        ("Slot:\n  schedule: {type: reference, paths: [schedule]}\n", "needs targets"),
        ("Slot:\n  start: {type: date, paths: ['a..b']}\n", "Slot.start"),
        ("Widget:\n  x: {type: token, paths: [x]}\n", "unsupported resource type"),
        ("Slot:\n  status: {type: token, paths: [status], instant: true}\n", "only date parameters"),
    ],
)
def test_bad_registry_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(RegistryError, match=message) as caught:
        _load(path)
    assert str(path) in str(caught.value)
