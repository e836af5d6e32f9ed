"""Property-based: random and mutated HL7 v2, CSV and FHIR payloads never crash the pipeline and never write
part of a record: every stored resource belongs to an accepted (or duplicate) record, none to a rejected one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from gateway.ingest.pipeline import Pipeline
from tests.conftest import HL7V2_CORPORA, TABLES
from tests.gateway.ingest.conftest import run_ingest

CORPORA = HL7V2_CORPORA
HL7_SEEDS = [
    (CORPORA / "ansforge-pam-fr" / "SGL-admission.er7").read_bytes(),
    (CORPORA / "microsoft-FHIR-Converter" / "ADT-A04-01.hl7").read_bytes(),
    (CORPORA / "microsoft-FHIR-Converter" / "SIU-S12-01.hl7").read_bytes(),
]
CSV_SEED = (
    b"id_rdv;ipp;rpps;debut;fin;statut\r\n"
    b"R1;42;10000023084;02/03/2026 09:00;02/03/2026 09:15;honore\r\n"
    b'R2;43;10000023084;02/03/2026 09:15;02/03/2026 09:30;"absent"\r\n'
)
FHIR_SEED = (
    b'{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Slot","id":"s1",'
    b'"schedule":{"reference":"Schedule/a"},"status":"free","start":"2026-03-02T09:00:00+01:00",'
    b'"end":"2026-03-02T09:15:00+01:00"}},{"resource":{"resourceType":"Schedule","id":"a",'
    b'"actor":[{"display":"Dr A"}]}}]}'
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "separator"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            data[at:at] = draw(st.sampled_from([b"|", b"^", b"~", b"\\", b"&", b"\r", b";", b'"', b"\n", b"{"]))
    return bytes(data)


def wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))  # fixed table names


def check_no_partial_write(pipeline: Pipeline, payload: bytes, fmt: str, **kw: str) -> None:
    wipe(pipeline.engine)
    report = run_ingest(pipeline, payload, fmt=fmt, **kw)
    assert report["status"] in ("done", "rejected")
    claimed: set[str] = set()
    for record in report["records"]:
        refs = {"/".join(ref.split("/")[:2]) for ref in record["resources"]}
        if record["status"] == "rejected":
            assert not refs, record
            assert record["issues"], record
            assert all(issue.get("location") or issue.get("diagnostics") for issue in record["issues"])
        claimed |= refs
    with pipeline.engine.connect() as conn:
        rows = conn.execute(text("SELECT res_type, res_id FROM resource WHERE res_type <> 'Provenance'")).all()
    stored = {f"{kind}/{rid}" for kind, rid in rows}
    assert stored <= claimed, stored - claimed


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(payload=st.one_of(mutated(HL7_SEEDS), st.binary(max_size=300)))
def test_hl7v2(pipeline: Pipeline, payload: bytes) -> None:
    check_no_partial_write(pipeline, payload, "hl7v2")


@PROPERTY
@given(payload=st.one_of(mutated([CSV_SEED]), st.binary(max_size=300)))
def test_csv(pipeline: Pipeline, payload: bytes) -> None:
    check_no_partial_write(pipeline, payload, "csv", export="appointments", vendor="reference")


@PROPERTY
@given(payload=st.one_of(mutated([FHIR_SEED]), st.binary(max_size=300)))
def test_fhir(pipeline: Pipeline, payload: bytes) -> None:
    check_no_partial_write(pipeline, payload, "fhir")
