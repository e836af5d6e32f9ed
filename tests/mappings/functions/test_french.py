"""French transforms and conditions: tenant systems, idNat_PS, practitioner identifiers and references, INS sharing
rules (identity qualification), the FR Core Patient INS completeness check, PAM France detection, ROL roles."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mappings.functions.french import (
    has_idnps,
    identity_qualified,
    idnps,
    ins_authority,
    ins_profile_complete,
    ins_shareable,
    ipp_type,
    pam_france,
    practitioner_id_type,
    practitioner_reference,
    practitioner_system,
    practitioner_value,
    reference,
    role_in,
    tenant,
    tenant_organization,
    tenant_system,
)
from mappings.registry import MapContext, MappingProblem

CTX = MapContext("359900016", ZoneInfo("Europe/Paris"))
IDNPS = "urn:oid:1.2.250.1.71.4.2.1"
TEST_OID = "1.2.250.1.213.1.4.10"


def test_tenant_values() -> None:
    assert tenant_system(None, CTX, "ipp") == "urn:cpts-gateway:ipp:359900016"
    assert tenant(None, CTX) == "359900016"
    assert tenant_organization(None, CTX) == {
        "reference": "Organization?identifier=https://finess.esante.gouv.fr|359900016"
    }


def test_reference() -> None:
    assert reference(" 0042 ", CTX, type="Patient", kind="ipp") == {
        "reference": "Patient?identifier=urn:cpts-gateway:ipp:359900016|0042"
    }
    assert reference({"system": "urn:x", "value": "7"}, CTX, type="Location") == {
        "reference": "Location?identifier=urn:x|7"
    }
    assert reference(None, CTX, type="Patient", kind="ipp") is None
    with pytest.raises(MappingProblem, match="no identifier system"):
        reference("7", CTX, type="Patient")


@pytest.mark.parametrize(
    ("xcn", "expected"),
    [
        ({"id": "19990000010", "type": "RPPS"}, "819990000010"),
        ({"id": "819990000010", "type": "IDNPS"}, "819990000010"),
        ({"id": "359900016", "type": "ADELI"}, "0359900016"),
        ({"id": "10000023084", "type": "L", "authority": "1.2.250.1.71.4.2.1"}, "810000023084"),
        ({"id": "12377H87", "type": "BR"}, None),
        ({"id": "12345", "type": "RPPS"}, None),
        ({"type": "RPPS"}, None),
    ],
)
def test_idnps(xcn: dict[str, str], expected: str | None) -> None:
    assert idnps(xcn, CTX) == expected
    assert has_idnps(xcn, CTX) is (expected is not None)


def test_practitioner_identifier_national_or_local() -> None:
    french = {"id": "19990000010", "type": "RPPS", "authority": "1.2.250.1.71.4.2.1"}
    assert practitioner_system(french, CTX) == IDNPS
    assert practitioner_value(french, CTX) == "819990000010"
    assert practitioner_id_type(french, CTX) == "IDNPS"
    assert practitioner_reference(french, CTX) == {"reference": f"Practitioner?identifier={IDNPS}|819990000010"}
    local = {"id": " G7001 ", "type": None, "authority": None}
    assert practitioner_system(local, CTX) == "urn:cpts-gateway:practitioner:359900016"
    assert practitioner_value(local, CTX) == "G7001"
    assert practitioner_id_type(local, CTX) == "INTRN"
    assert practitioner_reference(local, CTX) == {
        "reference": "Practitioner?identifier=urn:cpts-gateway:practitioner:359900016|G7001"
    }
    nobody = {"id": None, "type": "RPPS", "authority": None}
    assert practitioner_system(nobody, CTX) is None
    assert practitioner_value(nobody, CTX) is None
    assert practitioner_id_type(nobody, CTX) is None
    assert practitioner_reference(nobody, CTX) is None


def test_ins_authority_and_ipp_type() -> None:
    assert ins_authority(TEST_OID, CTX)
    assert not ins_authority("1.2.250.1.71.4.2.1", CTX)
    assert ipp_type("PI", CTX) and ipp_type("mr", CTX) and not ipp_type("INS", CTX) and not ipp_type(None, CTX)


def test_identity_qualified() -> None:
    assert identity_qualified({"status": "VALI"}, CTX)
    assert identity_qualified("qual", CTX)
    assert not identity_qualified("PROV", CTX)
    assert not identity_qualified(None, CTX)


@pytest.mark.parametrize(
    ("statuses", "shared"),
    [
        (["VALI"], True),
        (["QUAL"], True),
        (["PROV"], False),
        (["RECUP"], False),
        (["VALI", "DOUT"], False),
        (["FICT", "VALI"], False),
        (["VALI", "HOMD"], True),
        ([], False),
    ],
)
def test_ins_is_shared_only_for_a_qualified_identity(statuses: list[str], shared: bool) -> None:
    value: dict[str, Any] = {"authority": TEST_OID} | {f"status_{n}": s for n, s in enumerate(statuses, 1)}
    assert ins_shareable(value, CTX) is shared


def test_ins_is_not_shared_without_an_ins_authority_or_an_ipp() -> None:
    assert not ins_shareable({"authority": "1.2.3", "status_1": "VALI"}, CTX)
    assert not ins_shareable("VALI", CTX)
    with_ipp = {"authority": TEST_OID, "status_1": "VALI", "id_type_1": "PI", "id_type_2": "INS"}
    assert ins_shareable(with_ipp, CTX)
    assert not ins_shareable(with_ipp | {"id_type_1": "SS"}, CTX)


COMPLETE = {
    "version": "FRA",
    "authority": TEST_OID,
    "status_1": "VALI",
    "name_1_type": "L",
    "name_1_family": "MARTIN",
    "name_1_given": "CLAIRE",
    "name_1_list": "CLAIRE ANNE",
    "place_1_type": "H",
    "place_1_code": "35238",
    "place_2_type": "BDL",
    "place_2_code": "35238",
    "gender": "F",
    "birth_date": "19840512",
}


@pytest.mark.parametrize(
    ("change", "complete"),
    [
        ({}, True),
        ({"version": None, "profile": "IHE_FRANCE-2.11-PAM"}, True),
        ({"version": "2.5"}, False),
        ({"status_1": "PROV"}, False),
        ({"name_1_type": "D"}, False),
        ({"name_1_list": None}, False),
        ({"place_2_code": None}, False),
        ({"place_2_type": "H"}, False),
        ({"gender": "O"}, False),
        ({"birth_date": None}, False),
        ({"name_1_type": "D", "name_2_type": "L", "name_2_family": "M", "name_2_given": "C", "name_2_list": "C"}, True),
    ],
)
def test_ins_profile_needs_every_required_element(change: dict[str, Any], complete: bool) -> None:
    assert ins_profile_complete(COMPLETE | change, CTX) is complete


def test_pam_france() -> None:
    assert pam_france({"version": "FRA", "profile": None}, CTX)
    assert pam_france({"version": "2.5", "profile": "IHE_FRANCE-2.11-PAM"}, CTX)
    assert not pam_france({"version": "USA", "profile": None}, CTX)
    assert pam_france({"version": "FRA", "code": "35238"}, CTX)
    assert not pam_france({"version": "FRA", "code": None}, CTX)
    assert pam_france("fra", CTX) and not pam_france(None, CTX)


@pytest.mark.parametrize(
    ("rol", "kept"),
    [
        ({"action": "AD", "role": "ODRP", "person": "10000023084"}, True),
        ({"action": "UC", "role": "pp", "person": "12377H87"}, True),
        ({"action": "DE", "role": "ODRP", "person": "10000023084"}, False),
        ({"action": "AD", "role": "AT", "person": "10000023084"}, False),
        ({"action": "AD", "role": "ODRP", "person": None}, False),
    ],
)
def test_role_in(rol: dict[str, str | None], kept: bool) -> None:
    assert role_in(rol, CTX, roles=["ODRP", "PP", "FHCP"]) is kept
    assert not role_in("ODRP", CTX, roles=["ODRP"])
