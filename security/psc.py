"""Pro Santé Connect claims → the practitioner :class:`~security.principal.Principal` they vouch for.

PSC describes a health professional with its own claims (see ``../shared/domain/french-interop.md``):

- ``SubjectNameID``: the national professional identifier idNat_PS, ``8`` + an 11-digit RPPS number (with its Luhn
  key) or ``0`` + a 9-character ADELI number. It is the principal's subject, so a malformed one is refused.
- ``SubjectRole``: ``["10^1.2.250.1.213.1.1.5.5"]``, the profession code (TRE_G15) before ``^`` and its OID after.
- ``SubjectRefPro.exercices[].activities[]``: where the professional works, with the site's ``numeroFinessSite``
  and ``numeroSiretSite`` (empty strings when the site has none); those become the principal's structures.

Names (``given_name``, ``family_name``) are never used for authorisation. The functions raise :class:`ClaimError`,
which the verifier turns into a 401.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.checkkeys import luhn_is_valid
from security.principal import Principal
from security.roles import role_named
from security.scopes import Scopes

ID_NAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
_RPPS_FORM = re.compile(r"8[0-9]{11}")
_ADELI_FORM = re.compile(r"0(?:[0-9]{2}|2[AB])[0-9]{7}")
_ROLE = re.compile(r"(?P<code>[0-9A-Za-z]{1,10})(?:\^(?P<oid>[0-2](?:\.[0-9]+)+))?")
_FINESS = re.compile(r"(?:[0-9]{2}|2[AB])[0-9]{7}")
_SIRET = re.compile(r"[0-9]{14}")


class ClaimError(ValueError):
    """A claim the gateway cannot build a principal from (the token is refused with this reason)."""


def parse_id_nat_ps(value: object) -> str:
    """The idNat_PS of ``SubjectNameID``: ``8`` + RPPS (Luhn-checked) or ``0`` + ADELI; anything else is refused."""
    if not isinstance(value, str) or not value:
        raise ClaimError("SubjectNameID (the idNat_PS) is missing or not a string")
    if _RPPS_FORM.fullmatch(value):
        if not luhn_is_valid(value[1:]):
            raise ClaimError(f"SubjectNameID '{value}': the RPPS number fails its Luhn check")
        return value
    if _ADELI_FORM.fullmatch(value):
        return value
    raise ClaimError(
        f"SubjectNameID '{value}' is not an idNat_PS ('8' + 11-digit RPPS, or '0' + 9-character ADELI number)"
    )


def parse_subject_role(value: object) -> str | None:
    """The profession code of ``SubjectRole`` (a list of ``code^OID`` or one such string); None when absent."""
    if value is None or value == []:
        return None
    first = value[0] if isinstance(value, list) else value
    if not isinstance(first, str):
        raise ClaimError("SubjectRole must be a string or a list of strings like '10^1.2.250.1.213.1.1.5.5'")
    match = _ROLE.fullmatch(first)
    if match is None:
        raise ClaimError(f"SubjectRole '{first}' is not a profession code like '10^1.2.250.1.213.1.1.5.5'")
    return match.group("code")


def _exercices(claims: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    ref_pro = claims.get("SubjectRefPro")
    if ref_pro is None:
        return []
    exercices = ref_pro.get("exercices") if isinstance(ref_pro, Mapping) else None
    if not isinstance(exercices, list) or not all(isinstance(item, Mapping) for item in exercices):
        raise ClaimError("SubjectRefPro.exercices must be a list of objects")
    return exercices


def structures(claims: Mapping[str, Any]) -> frozenset[str]:
    """The FINESS and SIRET numbers of the sites of every activity; empty or ill-formed numbers are left out."""
    found: set[str] = set()
    for exercice in _exercices(claims):
        activities = exercice.get("activities") or []
        if not isinstance(activities, list):
            raise ClaimError("SubjectRefPro.exercices[].activities must be a list of objects")
        for activity in activities:
            if not isinstance(activity, Mapping):
                raise ClaimError("SubjectRefPro.exercices[].activities must be a list of objects")
            finess = activity.get("numeroFinessSite")
            siret = activity.get("numeroSiretSite")
            if isinstance(finess, str) and _FINESS.fullmatch(finess):
                found.add(finess)
            if isinstance(siret, str) and _SIRET.fullmatch(siret):
                found.add(siret)
    return frozenset(found)


def profession(claims: Mapping[str, Any]) -> str | None:
    """``SubjectRole``'s code, else the first exercice's ``codeProfession``."""
    code = parse_subject_role(claims.get("SubjectRole"))
    if code is not None:
        return code
    for exercice in _exercices(claims):
        value = exercice.get("codeProfession")
        if isinstance(value, str) and value:
            return value
    return None


def psc_principal(claims: Mapping[str, Any], *, issuer: str) -> Principal:
    """The practitioner principal of verified Pro Santé Connect claims."""
    id_nat_ps = parse_id_nat_ps(claims.get("SubjectNameID"))
    client = claims.get("azp") or claims.get("client_id")
    return Principal(
        subject=id_nat_ps,
        role=role_named("practitioner"),
        scopes=Scopes.everything(),  # the role bounds it: PSC tokens carry no SMART scopes
        structures=structures(claims),
        practitioner_id=id_nat_ps,
        profession=profession(claims),
        issuer=issuer,
        client=client if isinstance(client, str) else None,
    )


__all__ = [
    "ID_NAT_PS_SYSTEM",
    "ClaimError",
    "parse_id_nat_ps",
    "parse_subject_role",
    "profession",
    "psc_principal",
    "structures",
]
