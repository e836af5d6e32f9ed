"""CSV through the pipeline: what the job says about the file (encoding, delimiter, columns nobody reads)."""

from __future__ import annotations

from tests.gateway.ingest.conftest import Ingest

TENANT = "350000014"


def test_the_job_reports_encoding_delimiter_and_unused_columns(ingest: Ingest) -> None:
    payload = (
        "id_rdv,ipp,id_nat_ps,debut,duree,statut,couleur_agenda\r\n"
        "RDV-1,00000001,819990001018,02/03/2026 08:30,20,honoré,bleu\r\n"
    ).encode("cp1252")
    report = ingest(payload, fmt="csv", export="appointments", vendor="reference", tenant=TENANT)
    summary = report["summary"]
    assert (summary["encoding"], summary["delimiter"]) == ("cp1252", ",")
    assert summary["unused_columns"] == ["couleur_agenda"]
    assert report["records"][0]["location"] == "test:2"
