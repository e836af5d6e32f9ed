"""Properties: whatever bytes an export holds, a run ends with results (never a check error, never an exception);
input pairs parse or are refused with InputError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.inputs import InputError, parse_pairs
from conformance.runner import run_exports

HEADER = b"id_creneau;id_nat_ps;debut;fin;statut;snp;url_reservation\r\n"
CELLS = st.sampled_from(
    ["", "819990000168", "8199900001", "23/11/2026 09:00", "29/03/2026 02:30", "libre", "oui", "x;y", '"', "\u00e9",
     "https://rdv.example/a", "2026-11-23T09:00:00Z", "\x00", "32/13/2026 25:61"]
)  # fmt: skip
ROWS = st.lists(st.lists(CELLS, min_size=5, max_size=8).map(lambda cells: ";".join(cells)), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, name=st.sampled_from(["slots.csv", "x.json", "y.hl7", "z.txt"]))
def test_conformance_any_export_gets_results(rows: list[str], name: str) -> None:
    data = HEADER + "\r\n".join(rows).encode("utf-8", "surrogatepass")
    report = run_exports([(name, data)], {"reference_time": "2026-11-22T12:00:00+01:00"})
    assert [o.check for o in report.outcomes if o.result == "error"] == []


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=300))
def test_conformance_any_bytes_get_results(data: bytes) -> None:
    report = run_exports([("export.csv", data)], {})
    assert [o.check for o in report.outcomes if o.result == "error"] == []


@given(pairs=st.lists(st.text(max_size=20), max_size=5))
def test_conformance_input_pairs_parse_or_are_refused(pairs: list[str]) -> None:
    try:
        parsed = parse_pairs(pairs)
    except InputError:
        assert any("=" not in p or not p.partition("=")[0].strip() for p in pairs)
    else:
        assert all(k == k.strip() and k for k in parsed)
