"""The small-count masking of indicator reports (gateway/indicators/masking.py), property by property."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.indicators.masking import counts, is_masked, mask_report
from tests.gateway.indicators.report_shapes import report

CODES = ("initial-population", "denominator", "denominator-exclusion", "numerator")
count_values = st.one_of(st.integers(0, 3), st.integers(0, 14), st.integers(0, 500))


@st.composite
def reports(draw: st.DrawFn, *, with_strata: bool = True) -> dict[str, Any]:
    numbers = {code: draw(count_values) for code in CODES}
    strata = None
    if with_strata and draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(["10", "21", "40", "60", "70"]), min_size=1, max_size=4, unique=True))
        strata = {name: {code: draw(count_values) for code in CODES} for name in names}
    return report(numbers, finess=None, strata=strata)


def _all_populations(out: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for group in out["group"]:
        found.extend((p, group) for p in group["population"])
        for stratifier in group.get("stratifier", []):
            for stratum in stratifier["stratum"]:
                found.extend((p, stratum) for p in stratum["population"])
    return found


@settings(max_examples=300, deadline=None)
@given(reports(), st.integers(0, 12))
def test_reports_no_count_from_1_to_n_ever_leaves(original: dict[str, Any], n: int) -> None:
    before = copy.deepcopy(original)
    out = mask_report(original, n)
    assert original == before  # the input is left as it was
    for population, owner in _all_populations(out):
        if is_masked(population):
            assert "count" not in population
            assert "measureScore" not in owner  # the score and the other count would give it back
        else:
            assert not 1 <= population["count"] <= n


@settings(max_examples=300, deadline=None)
@given(reports(), st.integers(0, 12))
def test_reports_zero_is_never_masked(original: dict[str, Any], n: int) -> None:
    out = mask_report(original, n)
    for (population, _), (source, _) in zip(_all_populations(out), _all_populations(original), strict=True):
        if source["count"] == 0:
            assert population == source


@settings(max_examples=300, deadline=None)
@given(reports(with_strata=False), st.integers(0, 12))
def test_reports_counts_above_n_are_untouched_without_strata(original: dict[str, Any], n: int) -> None:
    out = mask_report(original, n)
    for (population, owner), (source, source_owner) in zip(
        _all_populations(out), _all_populations(original), strict=True
    ):
        if source["count"] > n or source["count"] == 0:
            assert population == source
        masked_here = any(is_masked(p) for p in owner["population"])
        if not masked_here and "measureScore" in source_owner:
            assert owner["measureScore"] == source_owner["measureScore"]


@settings(max_examples=300, deadline=None)
@given(reports(), st.integers(1, 12))
def test_reports_no_stratifier_has_a_lone_masked_cell(original: dict[str, Any], n: int) -> None:
    """The strata add up to the group: one masked cell among them and the group total could be recomputed."""
    out = mask_report(original, n)
    shown = counts(out)
    tables: dict[tuple[str, str | None, str], list[Any]] = defaultdict(list)
    for (group, stratifier, _stratum, population), value in shown.items():
        if stratifier is not None:
            tables[(group, stratifier, population)].append(value)
    for (group, _stratifier, population), strata in tables.items():
        cells = [shown[(group, None, None, population)], *strata]
        if sum(1 for c in cells if c is None) == 1:
            assert all(c == 0 for c in cells if c is not None)  # nothing left to mask with it: all others are zero


@settings(max_examples=300, deadline=None)
@given(
    reports(with_strata=False),
    st.lists(st.lists(reports(with_strata=False), min_size=1, max_size=3), min_size=1, max_size=2),
    st.integers(1, 12),
)
def test_reports_a_total_never_gives_back_what_the_visible_parts_leave_out(
    total: dict[str, Any], partitions: list[list[dict[str, Any]]], n: int
) -> None:
    """A total (CPTS-wide, or a quarter) minus the parts the viewer sees of any of its partitions (its centres, its
    months) is never from 1 to N."""
    seen = [[mask_report(p, n) for p in parts] for parts in partitions]
    out = counts(mask_report(total, n, seen))
    for parts in seen:
        visible: dict[Any, int] = defaultdict(int)
        for part in parts:
            for key, value in counts(part).items():
                visible[key] += value or 0
        for key, value in out.items():
            if value is not None:
                assert not 1 <= value - visible[key] <= n


def test_reports_masking_worked_example() -> None:
    """IND-NOSHOW for one centre with N = 10: 7 no-shows (5 and 2 by profession), 4 exclusions."""
    original = report(
        {"initial-population": 130, "denominator": 120, "denominator-exclusion": 4, "numerator": 7},
        finess="350000014",
        organization="org-a",
        strata={"10": {"denominator": 100, "numerator": 5}, "60": {"denominator": 20, "numerator": 2}},
    )
    original["evaluatedResource"] = [{"reference": "Patient/p1"}]
    out = mask_report(original, 10)
    group = out["group"][0]
    assert [p.get("count") for p in group["population"]] == [130, 120, None, None]
    assert group["population"][3]["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}
    ]
    assert "measureScore" not in group
    strata = group["stratifier"][0]["stratum"]
    assert [[p.get("count") for p in s["population"]] for s in strata] == [[100, None], [20, None]]
    assert "evaluatedResource" not in out
    # the complement: with 30 no-shows shown in all, a lone masked stratum (2) takes the smallest other one (28)
    other = report({"numerator": 30}, strata={"10": {"numerator": 28}, "60": {"numerator": 2}, "70": {"numerator": 0}})
    shown = mask_report(other, 10)["group"][0]
    assert shown["population"][0]["count"] == 30
    assert [s["population"][0].get("count") for s in shown["stratifier"][0]["stratum"]] == [None, None, 0]
