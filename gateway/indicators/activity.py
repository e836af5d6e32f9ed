"""Activity indicators read from the lower-volume resources of the period (found through the date index): calls
(IND-PICKUP), billed acts (IND-CCAM), claims and their responses (IND-REJECT, IND-UNPAID)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gateway.indicators.context import PAYER_SYSTEM, Context, Json
from gateway.indicators.tally import Tally, new_tally

PHONE = "PHONE"
INCOMING = "incoming-call"
CCAM_SYSTEM = "https://smt.esante.gouv.fr/terminologie-ccam"
NGAP_SYSTEM = "urn:cpts-gateway:ngap"
PHYSICIAN = "10"
CLAIM_PAYERS = ("AMO", "AMC")


def _codes(concepts: Any) -> list[tuple[str | None, str]]:
    items = concepts if isinstance(concepts, list) else [concepts]
    return [
        (c.get("system"), c["code"])
        for concept in items
        if isinstance(concept, dict)
        for c in concept.get("coding") or []
        if isinstance(c, dict) and isinstance(c.get("code"), str)
    ]


def compute_pickup(ctx: Context) -> dict[str, Tally]:
    tallies = {t: new_tally(["incoming-calls"]) for t in ctx.tenants}
    found: Counter[tuple[str, bool, bool]] = Counter()  # (centre, in the denominator, answered) -> calls
    for tenant, call in ctx.resources("Communication", "received"):
        if PHONE in [code for _, code in _codes(call.get("medium"))]:
            status = call.get("status")
            incoming = INCOMING in [code for _, code in _codes(call.get("category"))]
            counted = incoming and status in ("completed", "not-done")
            found[(tenant, counted, counted and status == "completed")] += 1
    for (tenant, counted, answered), n in sorted(found.items()):
        counts = {
            "initial-population": n,
            "denominator": n * counted,
            "denominator-exclusion": 0,  # entered-in-error calls are never in the denominator (completed, not-done)
            "numerator": n * answered,
        }
        if tenant in tallies:
            tallies[tenant]["incoming-calls"].add({"centre": ctx.centre(tenant)}, counts)
    return tallies


def _quantity(item: Json) -> int:
    quantity = item.get("quantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1:
        return int(value)
    return 1


def compute_ccam(ctx: Context) -> dict[str, Tally]:
    tallies = {t: new_tally(["coded-acts"]) for t in ctx.tenants}
    found: Counter[tuple[str, str, bool, bool, bool]] = Counter()  # centre, role, coded, excluded, CCAM -> acts
    for tenant, item in ctx.resources("ChargeItem", "occurrence"):
        systems = {system for system, _ in _codes(item.get("code"))}
        performers = [p.get("actor", {}).get("reference") for p in item.get("performer") or [] if isinstance(p, dict)]
        role_id = next((r for r in (ctx.role_of(tenant, ref) for ref in performers) if r is not None), None)
        role = ctx.roles.get(role_id) if role_id else None
        physician = role is not None and role.profession is not None and role.profession.get("code") == PHYSICIAN
        coded = bool(systems & {CCAM_SYSTEM, NGAP_SYSTEM}) and physician
        excluded = coded and item.get("status") in ("entered-in-error", "aborted")
        found[(tenant, role_id or "", coded, excluded, CCAM_SYSTEM in systems)] += _quantity(item)
    for (tenant, role_id, coded, excluded, ccam), n in sorted(found.items()):
        counts = {
            "initial-population": n,
            "denominator": n * coded,
            "denominator-exclusion": n * excluded,
            "numerator": n * (coded and not excluded and ccam),
        }
        if tenant in tallies:
            tallies[tenant]["coded-acts"].add({"specialty": ctx.role_specialty(role_id or None)}, counts)
    return tallies


def _payer(claim: Json) -> str | None:
    codes = [code for system, code in _codes(claim.get("subType")) if system == PAYER_SYSTEM]
    return codes[0] if codes else None


def _responses(ctx: Context) -> dict[tuple[str, str], Json]:
    """ClaimResponses created since the period began, by (centre, claim id) of their request."""
    found: dict[tuple[str, str], Json] = {}
    for tenant, response in ctx.resources("ClaimResponse", "created", open_end=True):
        request = response.get("request")
        reference = request.get("reference") if isinstance(request, dict) else None
        if isinstance(reference, str) and reference.startswith("Claim/"):
            found.setdefault((tenant, reference.split("/", 1)[1]), response)
    return found


def _total(resource: Json, *path: str) -> float:
    node: Any = resource
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else 0.0


def compute_claims(ctx: Context) -> dict[str, dict[str, Tally]]:
    """IND-REJECT and IND-UNPAID: claims created in the period and the answers to them."""
    reject = {t: new_tally(["sent-claims"]) for t in ctx.tenants}
    unpaid = {t: new_tally(["amounts"]) for t in ctx.tenants}
    responses = _responses(ctx)
    sent: Counter[tuple[str, str, bool, bool]] = Counter()  # centre, payer, sent, rejected -> claims
    amounts: dict[tuple[str, bool], list[float]] = {}  # centre, owed by the patient -> [claims, total, unpaid]
    for tenant, claim in ctx.resources("Claim", "created"):
        payer, status = _payer(claim), claim.get("status")
        response = responses.get((tenant, str(claim.get("id"))))
        to_insurer = payer in CLAIM_PAYERS and status == "active"
        rejected = to_insurer and response is not None and response.get("outcome") == "error"
        sent[(tenant, payer or "", to_insurer, rejected)] += 1
        if status == "active":
            total, own = _total(claim, "total", "value"), payer == "PATIENT"
            left = max(total - _total(response, "payment", "amount", "value"), 0.0) if response else total
            entry = amounts.setdefault((tenant, own), [0.0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += total
            entry[2] += left if own else 0.0
    for (tenant, payer, to_insurer, rejected), n in sorted(sent.items()):
        counts = {"initial-population": n, "denominator": n * to_insurer, "denominator-exclusion": 0}
        if tenant in reject:
            reject[tenant]["sent-claims"].add(
                {"payer": ctx.code("payer", PAYER_SYSTEM, payer or None)}, {**counts, "numerator": n * rejected}
            )
    for (tenant, own), (claims, total, left) in sorted(amounts.items()):
        n = int(claims)
        if tenant in unpaid:
            unpaid[tenant]["amounts"].add(
                {"centre": ctx.centre(tenant)},
                {
                    "initial-population": n,
                    "denominator": n,
                    "measure-observation": n,
                    "numerator": n * own,
                    "measure-observation-2": n * own,
                },
                {"measure-observation": total, "measure-observation-2": left},
            )
    return {"IND-REJECT": reject, "IND-UNPAID": unpaid}


__all__ = ["compute_ccam", "compute_claims", "compute_pickup"]
