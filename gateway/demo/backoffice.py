"""The demo centres' back-office exports: opening hours, telephony, billed acts and claims, as CSV in the gateway's
published reference format (``mappings/csv/reference/``).

These are the sources of IND-OPENING, IND-PICKUP, IND-CCAM, IND-REJECT and IND-UNPAID. They are written as the
files a centre would send and ingested through the real pipeline (``gateway/demo/exports.py``), so the demo holds
exactly what the CSV mappings make of them. Acts and claims follow the fulfilled appointments of the agenda (the
agenda is replayed with its own seed, so they match what the demo stored). Calls, acts and claims cover the
``BACKOFFICE_DAYS`` days before the demo's today (enough for the indicators' proportions, and the demo stays quick
to seed). Deterministic: the same options give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from gateway.demo.agenda import CentreAgenda
from gateway.demo.holidays import is_closed
from gateway.demo.localtime import LocalClock
from gateway.demo.patients import PatientSpec
from gateway.demo.structures import centre_hours
from gateway.demo.territory import CentreSpec, PractitionerSpec, Territory

EXPORTS = ("opening_hours", "calls", "acts", "claims")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Act:
    nomenclature: str
    code: str
    label: str
    amount: Decimal
    coefficient: Decimal | None = None
    share: float = 1.0  # chance that a consultation carries the act


def _act(
    nomenclature: str, code: str, label: str, amount: str, coefficient: str | None = None, share: float = 1.0
) -> Act:
    return Act(nomenclature, code, label, Decimal(amount), Decimal(coefficient) if coefficient else None, share)


# What each profession bills for a consultation: the first act always, the others with their share.
ACTS: dict[str, tuple[Act, ...]] = {
    "gp": (
        _act("NGAP", "G", "Consultation de médecine générale", "30.00"),
        _act("CCAM", "DEQP003", "Électrocardiographie", "14.52", share=0.08),
        _act("CCAM", "JKHD001", "Prélèvement cervicovaginal", "12.46", share=0.03),
    ),
    "cardiologist": (
        _act("NGAP", "CSC", "Consultation spécifique de cardiologie", "47.73"),
        _act("CCAM", "DEQP003", "Électrocardiographie", "14.52", share=0.7),
        _act("CCAM", "DZQM006", "Échocardiographie transthoracique", "95.66", share=0.3),
    ),
    "nurse": (_act("NGAP", "AMI", "Acte infirmier", "3.15", "1"),),
    "physio": (_act("NGAP", "AMK", "Rééducation", "16.13", "7.5"),),
    "dentist": (
        _act("NGAP", "C", "Consultation dentaire", "23.00"),
        _act("CCAM", "HBJD001", "Détartrage et polissage des dents", "28.92", share=0.35),
    ),
    "midwife": (_act("NGAP", "C", "Consultation de sage-femme", "25.00"),),
    "podiatrist": (_act("NGAP", "AMP", "Acte de pédicurie-podologie", "30.00"),),
}
HOME_VISIT = _act("NGAP", "IFD", "Indemnité forfaitaire de déplacement", "2.75")
REJECTIONS = (("R12", "Droits non ouverts"), ("R31", "Prescription absente"), ("R05", "Assuré inconnu"))
BACKOFFICE_DAYS = 14
THIRD_PARTY_SHARE = 0.6  # invoices fully paid by the insurers (tiers payant intégral: AMO + AMC)


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENTS, ROUND_HALF_UP)}".replace(".", ",")


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _csv(header: Sequence[str], rows: Iterator[Sequence[str]]) -> str:
    lines = [";".join(header)]
    lines.extend(";".join(row) for row in rows)
    return "\r\n".join(lines) + "\r\n"


def opening_hours(centre: CentreSpec) -> str:
    """One row: the main site (keyed on the FINESS) with each weekday's opening range."""
    hours = centre_hours(centre)
    days = [f"{_hhmm(hours[d][0])}-{_hhmm(hours[d][1])}" if d in hours else "fermé" for d in range(7)]
    address = centre.address
    row = [centre.finess, centre.name, address.line, address.postal_code, address.commune.name, *days]
    header = ["site", "nom", "adresse", "code_postal", "ville", *WEEKDAYS, "exceptions"]
    return _csv(header, iter([[*row, "Fermé les jours fériés"]]))


def first_billed_day(territory: Territory) -> dt.date:
    options = territory.options
    return max(options.first_day, options.start - dt.timedelta(days=BACKOFFICE_DAYS))


def _past_days(territory: Territory) -> Iterator[dt.date]:
    options = territory.options
    day = first_billed_day(territory)
    while day < options.start:
        yield day
        day += dt.timedelta(days=1)


def calls(territory: Territory, centre: CentreSpec) -> str:
    """The switchboard's calls on the days the centre opened before the demo's today: about 12 + 3 per professional
    a day, fewer answered at the opening rush."""
    rng = random.Random(f"{territory.options.seed}/calls/{centre.finess}")
    hours = centre_hours(centre)
    rows: list[list[str]] = []
    for day in _past_days(territory):
        span = hours.get(day.weekday())
        if span is None or is_closed(day):
            continue
        count = 12 + 3 * len(centre.practitioners) + rng.randint(-5, 5)
        if day.weekday() == 5:
            count //= 3
        minutes = sorted(rng.randint(span[0], span[1] - 1) for _ in range(max(count, 0)))
        for minute in minutes:
            rush = minute < span[0] + 60 or 13 * 60 + 30 <= minute < 14 * 60 + 30
            answered = rng.random() < (0.68 if rush else 0.88)
            outgoing = rng.random() < 0.1
            seconds = rng.randint(0, 59)
            stamp = f"{day:%d/%m/%Y} {_hhmm(minute)}:{seconds:02d}"
            rows.append([f"APL-{day:%Y%m%d}-{len(rows) + 1:05d}", stamp, "oui" if answered or outgoing else "non",
                         "sortant" if outgoing else "entrant"])  # fmt: skip
    return _csv(["id_appel", "date_appel", "decroche", "sens"], iter(rows))


@dataclass(frozen=True, slots=True)
class Visit:
    """A fulfilled appointment: what acts and claims are made of."""

    day: dt.date
    practitioner: PractitionerSpec
    ipp: str
    home: bool


def fulfilled_visits(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> Iterator[Visit]:
    """The agenda's fulfilled appointments from ``first_billed_day``, replayed from the agenda's own seed."""
    first = first_billed_day(territory).isoformat()
    by_practitioner = {f"Practitioner/{spec.practitioner_id}": spec for spec in centre.practitioners}
    ipps = {f"Patient/{patient.id}": patient.ipp for patient in patients}
    for resource in CentreAgenda(territory, centre, patients, clock).resources():
        if resource["resourceType"] != "Appointment" or resource["status"] != "fulfilled" or resource["start"] < first:
            continue
        actors = [p["actor"]["reference"] for p in resource["participant"]]
        practitioner = next(by_practitioner[a] for a in actors if a in by_practitioner)
        ipp = next(ipps[a] for a in actors if a in ipps)
        home = resource["serviceType"][0]["coding"][0]["code"] == "HH"
        yield Visit(dt.date.fromisoformat(resource["start"][:10]), practitioner, ipp, home)


def _visit_acts(rng: random.Random, visit: Visit) -> list[Act]:
    first, *others = ACTS.get(visit.practitioner.profession.key, ACTS["gp"])
    acts = [first, *(act for act in others if rng.random() < act.share)]
    if visit.home:
        acts.append(HOME_VISIT)
    return acts


def acts_and_claims(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> tuple[str, str]:
    """The acts export (one row per billed act) and the claims export (per invoice: AMO, then AMC or the patient's
    share) of the fulfilled appointments."""
    rng = random.Random(f"{territory.options.seed}/billing/{centre.finess}")
    today = territory.options.start
    act_rows: list[list[str]] = []
    claim_rows: list[list[str]] = []
    for number, visit in enumerate(fulfilled_visits(territory, centre, patients, clock), start=1):
        total = Decimal(0)
        for act in _visit_acts(rng, visit):
            total += act.amount
            act_rows.append([
                f"ACT-{len(act_rows) + 1:06d}", f"{visit.day:%d/%m/%Y}", act.nomenclature, act.code, act.label,
                _money(act.coefficient).rstrip("0").rstrip(",") if act.coefficient else "", "1", _money(act.amount),
                visit.practitioner.id_nat_ps, visit.ipp,
            ])  # fmt: skip
        invoice = f"FAC-{number:06d}"
        insurer = (total * Decimal("0.7")).quantize(CENTS, ROUND_HALF_UP)
        rest = total - insurer
        second = "AMC" if rng.random() < THIRD_PARTY_SHARE else "PATIENT"
        for payer, amount in (("AMO", insurer), (second, rest)):
            claim_rows.append([invoice, payer, visit.ipp, f"{visit.day:%d/%m/%Y}", _money(amount),
                               *_answer(rng, payer, visit.day, today, amount)])  # fmt: skip
    act_header = ["id_acte", "date_acte", "nomenclature", "code", "libelle", "coefficient", "quantite", "montant",
                  "id_nat_ps", "ipp"]  # fmt: skip
    claim_header = ["id_facture", "payeur", "ipp", "date_envoi", "montant", "statut", "date_reponse", "montant_paye",
                    "code_rejet", "motif_rejet"]  # fmt: skip
    return _csv(act_header, iter(act_rows)), _csv(claim_header, iter(claim_rows))


def _answer(rng: random.Random, payer: str, sent: dt.date, today: dt.date, amount: Decimal) -> list[str]:
    """status, answer date, amount paid, rejection code and reason: insurers pay within 2 to 12 days and reject
    a few claims; patients mostly pay at once, some in part, some not yet."""
    answered = sent + dt.timedelta(days=0 if payer == "PATIENT" else rng.randint(2, 12))
    if answered >= today:
        return ["envoye", "", "", "", ""]
    draw = rng.random()
    when = f"{answered:%d/%m/%Y}"
    if payer == "PATIENT":
        if draw < 0.9:
            return ["paye", when, _money(amount), "", ""]
        if draw < 0.95:
            return ["partiel", when, _money(amount / 2), "", ""]
        return ["envoye", "", "", "", ""]
    if draw < (0.035 if payer == "AMO" else 0.07):
        code, reason = rng.choice(REJECTIONS)
        return ["rejete", when, "", code, reason]
    return ["paye", when, _money(amount), "", ""]


def centre_exports(
    territory: Territory, centre: CentreSpec, patients: Sequence[PatientSpec], clock: LocalClock
) -> dict[str, str]:
    """The four back-office exports of one centre, by export kind."""
    acts, claims = acts_and_claims(territory, centre, patients, clock)
    return {"opening_hours": opening_hours(centre), "calls": calls(territory, centre), "acts": acts, "claims": claims}


__all__ = ["ACTS", "EXPORTS", "Visit", "acts_and_claims", "calls", "centre_exports", "fulfilled_visits",
           "opening_hours"]  # fmt: skip
