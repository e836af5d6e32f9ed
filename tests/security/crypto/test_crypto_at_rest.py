"""Direct identifiers are encrypted at rest: raw SQL over every table finds none of them, yet the API reads them back
exactly and searches them (INS, whole words of names, exact birth dates) through blind indexes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text

from gateway.fhir.ids import deterministic_id
from gateway.ingest.identity import IdentityResolver
from gateway.ingest.pipeline import Pipeline
from gateway.settings import Settings
from tests.gateway.ingest.conftest import run_ingest

INS = "urn:oid:1.2.250.1.213.1.4.10"
NIR = "279035121519143"
TABLES = ("resource", "resource_version", "search_token", "search_string", "search_date", "search_reference")
SECRETS = (
    *("279035121519143", "Lefebvre-Kowalski", "lefebvre", "kowalski", "1979-03-21", "1979", "0687654321"),
    *("06 87 65 43 21", "Rue des Tanneurs", "tanneurs", "Hélène", "helene", "Bordeaux-Bastide", "33100"),
)
HL7 = Path(__file__).parents[2] / "data" / "hl7v2" / "pam-a04-qualified-ins.hl7"
HL7_SECRETS = ("284053523804256", "MARTIN", "DURAND", "CLAIRE ANNE", "19840512", "1984-05-12", "0612345678",
               "rue de la Paix", "claire.martin@courriel-demo.example")  # fmt: skip


def patient(resource_id: str = "pat-enc", nir: str = NIR) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": resource_id,
        "identifier": [
            {"system": "urn:cpts-gateway:ipp:350000014", "value": "IPP-77"},
            {"use": "official", "system": INS, "value": nir},
        ],
        "active": True,
        "name": [{"use": "official", "family": "Lefebvre-Kowalski", "given": ["Hélène", "Marie"]}],
        "telecom": [{"system": "phone", "value": "06 87 65 43 21", "use": "mobile"}],
        "gender": "female",
        "birthDate": "1979-03-21",
        "address": [{"line": ["14 Rue des Tanneurs"], "city": "Bordeaux-Bastide", "postalCode": "33100"}],
        "contact": [
            {"name": {"family": "Kowalski", "given": ["Jan"]}, "telecom": [{"system": "phone", "value": "0687654321"}]}
        ],
    }


def raw_dump(engine: Engine, tables: tuple[str, ...] = TABLES) -> str:
    """Every value of every row of the tables, as text (bytes read as latin-1), lower-cased. Integers (row keys,
    version numbers) are left out: no secret is stored as one, and a key such as 233100 would match '33100'."""
    parts: list[str] = []
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, int):
                        continue
                    parts.append(
                        bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
                    )
    return "\n".join(parts).casefold()


def assert_absent(dump: str, secrets: tuple[str, ...]) -> None:
    found = [s for s in secrets if s.casefold() in dump]
    assert not found, f"plaintext at rest: {found}"


def put(client: httpx.Client, resource: dict[str, Any]) -> httpx.Response:
    response = client.put(
        f"/fhir/Patient/{resource['id']}", json=resource, headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code in (200, 201), response.text
    return response


def matches(client: httpx.Client, **params: str) -> list[str]:
    response = client.get("/fhir/Patient", params=params)
    assert response.status_code == 200, response.text
    return sorted(entry["resource"]["id"] for entry in response.json().get("entry", []))


def test_no_direct_identifier_is_stored_in_clear(client: httpx.Client, clean_db: Engine) -> None:
    put(client, patient())
    updated = {**patient(), "gender": "other"}
    put(client, updated)  # a second version in the history table
    assert_absent(raw_dump(clean_db), SECRETS)
    with clean_db.connect() as conn:
        stored = orjson.loads(conn.execute(text("SELECT content FROM resource WHERE res_id = 'pat-enc'")).scalar_one())
    assert stored["_sealed"].startswith("cpts1.")
    assert stored["identifier"] == [{"system": "urn:cpts-gateway:ipp:350000014", "value": "IPP-77"}]  # IPP in clear
    assert "name" not in stored and "birthDate" not in stored and stored["gender"] == "other"


def test_reads_return_exactly_what_was_written(client: httpx.Client) -> None:
    written = patient()
    created = put(client, written).json()
    read = client.get("/fhir/Patient/pat-enc").json()
    assert read == created
    assert [key for key in read if key != "meta"] == list(written)  # even the order of the elements
    assert {k: v for k, v in read.items() if k != "meta"} == written
    put(client, {**written, "gender": "other"})
    first = client.get("/fhir/Patient/pat-enc/_history/1").json()
    assert {k: v for k, v in first.items() if k != "meta"} == written
    history = client.get("/fhir/Patient/pat-enc/_history").json()
    assert all(entry["resource"]["name"] == written["name"] for entry in history["entry"])


def test_search_by_ins_words_and_exact_birth_date(client: httpx.Client) -> None:
    put(client, patient())
    other = {
        "name": [{"family": "Martin"}],
        "birthDate": "1980-01-01",
        "telecom": [{"system": "phone", "value": "01"}],
        "address": [{"city": "Lyon"}],
    }
    put(client, patient("pat-other", "180017512345678") | other)
    assert matches(client, identifier=f"{INS}|{NIR}") == ["pat-enc"]
    assert matches(client, identifier=NIR) == ["pat-enc"]
    assert matches(client, identifier=f"{INS}|279035121519144") == []  # a wrong INS finds nothing
    assert matches(client, identifier=f"urn:oid:1.2.250.1.213.1.4.8|{NIR}") == []  # right value, other system
    assert matches(client, identifier="urn:cpts-gateway:ipp:350000014|IPP-77") == ["pat-enc", "pat-other"]  # clear
    assert matches(client, family="lefebvre") == ["pat-enc"]
    assert matches(client, family="KOWALSKI") == ["pat-enc"]
    assert matches(client, family="Lefebvre-Kowalski") == ["pat-enc"]
    assert matches(client, family="Lefeb") == []  # whole words only
    assert matches(client, given="helene") == ["pat-enc"]
    assert matches(client, birthdate="1979-03-21") == ["pat-enc"]
    assert matches(client, telecom="0687654321") == ["pat-enc"]
    assert matches(client, **{"address-city": "bordeaux"}) == ["pat-enc"]
    assert matches(client, **{"address-postalcode": "33100"}) == ["pat-enc"]
    assert matches(client, address="tanneurs") == ["pat-enc"]


def test_sorting_on_a_protected_parameter_is_refused(client: httpx.Client) -> None:
    put(client, patient())
    response = client.get("/fhir/Patient", params={"_sort": "birthdate"})
    assert response.status_code == 400
    assert "stored encrypted" in response.json()["issue"][0]["diagnostics"]


def _content(engine: Engine, resource_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT content FROM resource WHERE res_id = :id"), {"id": resource_id}).scalar_one()
    return dict(orjson.loads(row))


def _set_content(engine: Engine, resource_id: str, content: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE resource SET content = :c WHERE res_id = :id"),
            {"c": orjson.dumps(content).decode(), "id": resource_id},
        )


def _refused(client: httpx.Client, resource_id: str, code: str) -> None:
    response = client.get(f"/fhir/Patient/{resource_id}")
    assert response.status_code == 500
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["coding"][0]["code"] == code
    assert "Traceback" not in response.text and "Hélène" not in response.text


def test_an_envelope_moved_to_another_record_is_refused(client: httpx.Client, clean_db: Engine) -> None:
    put(client, patient())
    put(client, patient("pat-victim", "180017512345678"))
    victim = _content(clean_db, "pat-victim")
    victim["_sealed"] = _content(clean_db, "pat-enc")["_sealed"]
    _set_content(clean_db, "pat-victim", victim)
    _refused(client, "pat-victim", "SEC-CIPHERTEXT")
    assert client.get("/fhir/Patient/pat-enc").status_code == 200


def test_a_tampered_envelope_is_refused(client: httpx.Client, clean_db: Engine) -> None:
    put(client, patient())
    stored = _content(clean_db, "pat-enc")
    envelope = stored["_sealed"]
    middle = len(envelope) // 2
    stored["_sealed"] = envelope[:middle] + ("A" if envelope[middle] != "A" else "B") + envelope[middle + 1 :]
    _set_content(clean_db, "pat-enc", stored)
    _refused(client, "pat-enc", "SEC-CIPHERTEXT")


def test_an_unknown_key_id_is_a_clear_error(client: httpx.Client, clean_db: Engine) -> None:
    put(client, patient())
    stored = _content(clean_db, "pat-enc")
    _prefix, _kid, body = stored["_sealed"].split(".", 2)
    stored["_sealed"] = f"cpts1.k99-ffffff.{body}"
    _set_content(clean_db, "pat-enc", stored)
    _refused(client, "pat-enc", "SEC-KEY-UNKNOWN")
    assert "k99-ffffff" in client.get("/fhir/Patient/pat-enc").json()["issue"][0]["diagnostics"]


@pytest.fixture
def pipeline(settings: Settings, clean_db: Engine) -> Pipeline:
    return Pipeline(settings, clean_db)


def test_an_ingested_adt_leaves_no_identifier_in_clear(
    client: httpx.Client, pipeline: Pipeline, clean_db: Engine
) -> None:
    report = run_ingest(pipeline, HL7.read_bytes(), fmt="hl7v2", tenant="350000014")
    assert report["counts"]["accepted"] == 1, report
    dump = raw_dump(clean_db, (*TABLES, "ingest_message", "ingest_record", "ingest_job", "dead_letter"))
    assert_absent(dump, HL7_SECRETS)
    patient_id = deterministic_id("Patient", "urn:cpts-gateway:ipp:350000014", "00012345")
    read = client.get(f"/fhir/Patient/{patient_id}").json()
    assert read["name"][0]["family"] == "MARTIN" and read["birthDate"] == "1984-05-12"
    assert matches(client, identifier="urn:oid:1.2.250.1.213.1.4.10|284053523804256") == [patient_id]
    assert matches(client, family="martin") == [patient_id]
    # the payload opens for the pipeline (dead letters are read again from it) and the identity resolves by INS
    job = pipeline.jobs.job(report["id"])
    assert b"284053523804256" in pipeline.jobs.payload(job.message_id)
    with clean_db.connect() as conn:
        resolver = IdentityResolver(conn, "350000014")
        key = ("Patient", "urn:oid:1.2.250.1.213.1.4.10", "284053523804256")
        assert resolver.lookup([key]) == {key: patient_id}  # identity resolution by INS goes through the blind index
