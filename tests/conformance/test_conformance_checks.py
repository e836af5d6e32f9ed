"""Every check has a passing and a failing fixture (tests/conformance/fixtures), and this test proves both outcomes.

Export checks: the good-* exports pass every export check; ``exports/fail-<check id>.*`` fails that check. GAP
checks: the canned good-gap server passes, bad-gap fails them all. SAS checks: bad-sas fails them all here; the
gateway's own SAS endpoint passes them in test_conformance_acceptance.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.registry import load_checks
from conformance.runner import run_endpoint, run_exports
from tests.conformance.fhir_double import canned_server

FIXTURES = Path(__file__).parent / "fixtures"
EXPORTS = FIXTURES / "exports"
INPUTS = {"finess": "759900426", "reference_time": "2026-11-22T12:00:00+01:00"}
ENDPOINT_INPUTS = {"practitioners": "819990000168", "start": "2026-11-23T00:00:00+01:00", "window_hours": "72",
                   "timeout": "5"}  # fmt: skip
CHECKS = load_checks()


def good_exports() -> list[tuple[str, bytes]]:
    paths = [*sorted(EXPORTS.glob("good-*")), FIXTURES / "good-adt.hl7"]
    return [(p.name, p.read_bytes()) for p in paths]


def failing_export(check_id: str) -> tuple[str, bytes]:
    (path,) = EXPORTS.glob(f"fail-{check_id}.*")
    return path.name, path.read_bytes()


@pytest.fixture(scope="module")
def good_run() -> dict[str, str]:
    report = run_exports(good_exports(), dict(INPUTS))
    return {o.check: o.result for o in report.outcomes}


@pytest.mark.parametrize("check_id", [c for c, k in CHECKS.items() if k.kind != "endpoint"])
def test_conformance_export_check_passes_and_fails(check_id: str, good_run: dict[str, str]) -> None:
    assert good_run[check_id] == "pass"
    report = run_exports([failing_export(check_id)], dict(INPUTS))
    outcome = report.outcome(check_id)
    assert outcome.result == "fail", outcome
    assert all(m.location for m in outcome.messages)


@pytest.mark.parametrize("check_id", [c for c, k in CHECKS.items() if k.group == "gap"])
def test_conformance_gap_check_passes_and_fails(check_id: str) -> None:
    inputs = {**ENDPOINT_INPUTS, "contract": "gap"}
    with canned_server("good-gap") as url:
        assert run_endpoint(url, dict(inputs)).outcome(check_id).result == "pass"
    with canned_server("bad-gap") as url:
        assert run_endpoint(url, dict(inputs)).outcome(check_id).result == "fail"


@pytest.mark.parametrize("check_id", [c for c, k in CHECKS.items() if k.group == "sas"])
def test_conformance_sas_check_fails_on_a_broken_endpoint(check_id: str) -> None:
    with canned_server("bad-sas") as url:
        outcome = run_endpoint(url, {**ENDPOINT_INPUTS, "contract": "sas"}).outcome(check_id)
    assert outcome.result == "fail", outcome


def test_conformance_every_check_has_its_fixtures() -> None:
    for check_id, check in CHECKS.items():
        if check.kind != "endpoint":
            assert list(EXPORTS.glob(f"fail-{check_id}.*")), check_id
        else:
            assert check.group in ("sas", "gap"), check_id


def test_conformance_unreachable_endpoint_skips() -> None:
    report = run_endpoint("http://127.0.0.1:9", {**ENDPOINT_INPUTS, "contract": "gap", "timeout": "1"})
    assert report.outcome("gap-metadata").result == "skip"
    assert report.outcome("csv-header").result == "omit"


def test_conformance_missing_input_skips() -> None:
    with canned_server("good-gap") as url:
        report = run_endpoint(url, {"contract": "gap"})
    assert report.outcome("gap-slot-search").result == "skip"
    assert "practitioners" in (report.outcome("gap-slot-search").reason or "")


def test_conformance_parallel_run_finds_the_same() -> None:
    files = [failing_export("slot-booking-url"), failing_export("csv-values"), failing_export("idnps-format")]
    alone = run_exports(files, dict(INPUTS))
    shared = run_exports(files, dict(INPUTS), jobs=2, parallel_lines=1)
    # the same results and messages (a resource only mentioned is checked once per process: counts may differ)
    summary = {o.check: (o.result, sorted(m.location or "" for m in o.messages)) for o in alone.outcomes}
    assert {o.check: (o.result, sorted(m.location or "" for m in o.messages)) for o in shared.outcomes} == summary
    assert alone.outcome("slot-booking-url").result == "fail"
