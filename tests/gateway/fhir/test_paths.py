"""Search parameter paths: navigation only, with choice elements and extension selection."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.fhir.paths import compile_path, evaluate

RESOURCE = {
    "resourceType": "CarePlan",
    "activity": [
        {"detail": {"scheduledPeriod": {"start": "2026-01-01"}, "status": "scheduled"}},
        {"detail": {"scheduledString": "every spring", "status": "scheduled"}},
    ],
    "extension": [{"url": "urn:a", "valueCode": "x"}, {"url": "urn:b", "valueCode": "y"}],
}


def test_flattens_lists_and_matches_choice_elements() -> None:
    assert evaluate(RESOURCE, "activity.detail.scheduled[x]") == [{"start": "2026-01-01"}, "every spring"]


def test_extension_selects_by_url() -> None:
    assert evaluate(RESOURCE, "extension(urn:b).value[x]") == ["y"]


def test_missing_path_is_empty() -> None:
    assert evaluate(RESOURCE, "subject.reference") == []


@pytest.mark.parametrize("path", ["a..b", "a.where(x)", "1abc", "a.b(c)"])
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        compile_path(path)


@given(
    st.recursive(
        st.none() | st.booleans() | st.text(max_size=5),
        lambda c: st.lists(c) | st.dictionaries(st.sampled_from(["a", "b", "valueX", "url"]), c),
        max_leaves=20,
    )
)
def test_evaluate_never_fails_on_any_json(document: object) -> None:
    data = {"resourceType": "X", "a": document}
    assert isinstance(evaluate(data, "a.b.value[x]"), list)
