"""Every file of the public HL7 v2 corpora (``../shared/corpora/hl7v2``, see its SOURCES.md), read as bytes and run
through the ingest half of the pipeline (``hl7_records`` + ``prepare``): each message is either mapped to resources
that validate, or rejected with located issues; a file that holds no message fails as a whole with a located
``Hl7Error``. Nothing else may escape, whatever the bytes (the nHapi fuzz folder holds binary inputs).

The outcome of every message of the French (ANS), Microsoft and HL7 v2-to-FHIR samples is pinned in ``EXPECTED``
so that a regression shows as a changed row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.errors import Hl7Error
from adapters.hl7v2 import split_messages
from gateway.ingest.prepare import Prepared, prepare
from gateway.ingest.records import hl7_records
from mappings.catalog import default_catalog
from mappings.registry import MapContext
from tests.conftest import HL7V2_CORPORA

CORPORA = HL7V2_CORPORA
FILES = sorted(path for path in CORPORA.rglob("*") if path.is_file() and path.name != "SOURCES.md")
TENANT = "359900016"  # a demo FINESS, as in test_golden.py

# file (relative to the corpora folder) → the outcome of each of its messages, in order:
# "accepted" or "rejected:<details code>@<first issue location>"
EXPECTED: dict[str, list[str]] = {
    # IHE PAM France samples published by the ANS: all accepted
    "ansforge-pam-fr/DMP-ConsentementConsultation_NonOppositionAlimentation.er7": ["accepted"],
    "ansforge-pam-fr/DMP-NonConsentementConsultation_NonOppositionAlimentation.er7": ["accepted"],
    "ansforge-pam-fr/DMP-NonConsentementConsultation_OppositionAlimentation.er7": ["accepted"],
    "ansforge-pam-fr/DMP-NonRecueillieConsentementConsultation_NonOppositionAlimentation.er7": ["accepted"],
    "ansforge-pam-fr/DMP-NonRecueillieConsentementConsultation_NonRecueillieOppositionAlimentation.er7": ["accepted"],
    "ansforge-pam-fr/SGL-admission.er7": ["accepted"],
    "ansforge-pam-fr/SGL-sortie.er7": ["accepted"],
    # the HL7 V2-to-FHIR project's benchmark messages (v2.5.1)
    "hl7-v2-to-fhir/ADT_A01-benchmark.hl7": ["accepted"],
    "hl7-v2-to-fhir/SIU_S12-benchmark.hl7": ["accepted"],
    # Microsoft FHIR-Converter samples (v2.8, US)
    "microsoft-FHIR-Converter/ADT-A01-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A01-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A04-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A04-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A08-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A08-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A28-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A28-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A31-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A31-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/ADT-A40-01.hl7": ["accepted"],
    # two PID/MRG pairs in one A40: one merge per message is supported
    "microsoft-FHIR-Converter/ADT-A40-02.hl7": ["rejected:MAP-UNSUPPORTED@PID[2]-3"],
    "microsoft-FHIR-Converter/SIU-S12-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S12-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S12_1.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S13-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S13-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S14-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S14-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S15-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S15-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S17-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S17-02.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S26-01.hl7": ["accepted"],
    "microsoft-FHIR-Converter/SIU-S26-02.hl7": ["accepted"],
    # SIU segments under a mislabelled MSH-9 ADT^A60: that event is not mapped
    "microsoft-FHIR-Converter/SIU_12.hl7": ["rejected:MAP-UNSUPPORTED@SIU_12.hl7#1:MSH-9"],
}


def _context() -> MapContext:
    return MapContext(TENANT, ZoneInfo("Europe/Paris"))


def _relative(path: Path) -> str:
    return path.relative_to(CORPORA).as_posix()


def _messages(path: Path) -> Iterator[Prepared]:
    catalog = default_catalog()
    for record in hl7_records(path.read_bytes(), path.name):
        yield prepare(record, catalog, _context())


def _summary(prepared: Prepared) -> str:
    if not prepared.rejected:
        return "accepted"
    first = prepared.issues[0]
    return f"rejected:{first.details_code}@{first.expression[0] if first.expression else ''}"


def test_the_corpora_are_there() -> None:
    assert len(FILES) >= 70, f"expected the shared corpora under {CORPORA}"
    assert set(EXPECTED) <= {_relative(path) for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=[_relative(path) for path in FILES])
def test_every_message_is_mapped_or_cleanly_rejected(path: Path) -> None:
    try:
        split_messages(path.read_bytes())
    except Hl7Error as error:  # no message at all: the whole file is refused, with a location
        problem: Hl7Error | None = error
    else:
        problem = None
    if problem is not None:
        assert problem.location and problem.message
        assert _relative(path) not in EXPECTED
        return
    outcomes = []
    for prepared in _messages(path):
        if prepared.rejected:
            assert prepared.issues
            for issue in prepared.issues:
                assert issue.expression and all(issue.expression), f"{prepared.record.location}: {issue}"
                assert issue.diagnostics
        else:
            assert prepared.issues == []
            assert prepared.produced, prepared.record.location
        outcomes.append(_summary(prepared))
    relative = _relative(path)
    if relative in EXPECTED:
        assert outcomes == EXPECTED[relative]
    elif relative.startswith("nhapi-fuzz-badinputs/"):
        assert all(outcome.startswith("rejected:ADP-HL7-") for outcome in outcomes), outcomes
    else:
        pytest.fail(f"{relative} is not pinned in EXPECTED: {outcomes}")


def test_french_samples_carry_the_patient_their_file_names_describe() -> None:
    for path in FILES:
        if not _relative(path).startswith("ansforge-pam-fr/"):
            continue
        (prepared,) = _messages(path)
        kinds = [p.resource["resourceType"] for p in prepared.produced]
        assert kinds.count("Patient") == 1 and "Organization" in kinds, path.name
        (patient,) = [p.resource for p in prepared.produced if p.resource["resourceType"] == "Patient"]
        systems = [identifier["system"] for identifier in patient["identifier"]]
        assert systems == [f"urn:cpts-gateway:ipp:{TENANT}", "urn:oid:1.2.250.1.213.1.4.10"], path.name
