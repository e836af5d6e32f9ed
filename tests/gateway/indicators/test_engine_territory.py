"""The indicator engine on a small territory: two centres whose CSV exports (tests/data/indicators/<FINESS>/) go
through the real ingest pipeline. Every expected value below is worked out by hand from those files, for March 2026
(local time, Europe/Paris: 2026-03-01T00:00+01:00 to 2026-04-01T00:00+02:00; the clocks go forward on March 29).

Centre A (759900426): Dr MARTIN (physician, TRE_G15 10, SM54) and nurse DURAND (60); centre B (350000014): Dr PETIT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gateway.fhir.ids import deterministic_id
from gateway.fhir.validation import validate_resource
from gateway.indicators.engine import evaluate, parse_period
from gateway.ingest.pipeline import Pipeline
from gateway.pathways.loader import publish_protocols, read_protocols
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import WriteItem, build_store
from tests.gateway.ingest.conftest import run_ingest

DATA = Path(__file__).resolve().parents[2] / "data" / "indicators"
A, B = "759900426", "350000014"
FINESS = "https://finess.esante.gouv.fr"
EXPORTS = ("practitioners", "opening_hours", "patients", "slots", "appointments", "calls", "acts", "claims", "pathways")
MARCH = parse_period("2026-03")
Json = dict[str, Any]


def ingest_export(pipeline: Pipeline, tenant: str, export: str) -> None:
    payload = (DATA / tenant / f"{export}.csv").read_bytes()
    report = run_ingest(pipeline, payload, tenant=tenant, fmt="csv", export=export, vendor="reference")
    problems = [(r["location"], r["issues"]) for r in report["records"] if r["status"] not in ("accepted", "duplicate")]
    assert report["status"] == "done" and not problems, (export, problems)


def role_id(engine: Engine, tenant: str, id_nat_ps: str) -> str:
    query = text(
        "SELECT r.res_id FROM resource r JOIN search_token t ON t.rid = r.rid WHERE r.res_type = 'PractitionerRole' "
        "AND t.param = 'identifier' AND t.system = :system AND t.code = :code"
    )
    with engine.connect() as conn:
        found = conn.execute(query, {"system": f"urn:cpts-gateway:practitionerrole:{tenant}", "code": id_nat_ps})
        return str(found.scalar_one())


def write_referrals(engine: Engine, settings: Settings) -> None:
    """Centre A's referrals, written through the store: FHIR ingest refuses Task.status 'completed' today (the Task
    model's status binding lists only accepted, draft, received, requested)."""
    owner = {"reference": f"PractitionerRole/{role_id(engine, A, '819990001018')}"}
    tasks = [
        ("t1", "completed", "2026-03-02T10:00:00+01:00", {"end": "2026-03-12T09:00:00+01:00"}),  # 12 - 2 = 10 days
        ("t2", "requested", "2026-03-05T10:00:00+01:00", None),
        ("t3", "draft", "2026-03-06T10:00:00+01:00", None),  # left out of the measure population
        ("t4", "requested", "2026-04-01T00:30:00+02:00", None),  # April in local time (March 31, 22:30 UTC)
    ]
    items = []
    for ident, status, authored, execution in tasks:
        task: Json = {"resourceType": "Task", "id": ident, "status": status, "intent": "order"}
        task.update({"authoredOn": authored, "owner": owner, **({"executionPeriod": execution} if execution else {})})
        items.append(WriteItem("Task", ident, task, tenant=A))
    with write_transaction(engine) as conn:
        build_store(engine, settings).write(conn, items)


@pytest.fixture
def territory(settings: Settings, clean_db: Engine) -> Engine:
    pipeline = Pipeline(settings, clean_db)
    for tenant in (A, B):
        for export in EXPORTS:
            ingest_export(pipeline, tenant, export)
    write_referrals(clean_db, settings)
    publish_protocols(clean_db, settings, read_protocols())  # as every server start does: the strata get titles
    return clean_db


def compute(engine: Engine, settings: Settings, **options: Any) -> list[Json]:
    with Session(engine) as session:
        return evaluate(session, settings, period=options.pop("period", MARCH), **options)


def report(reports: list[Json], measure: str, subject: str) -> Json:
    found = [
        r
        for r in reports
        if r["measure"] == f"urn:cpts-gateway:measure:{measure}" and r["subject"]["identifier"]["value"] == subject
    ]
    assert len(found) == 1, (measure, subject)
    return found[0]


def group(reports: list[Json], measure: str, subject: str, key: str | None = None) -> Json:
    groups = report(reports, measure, subject)["group"]
    return groups[0] if key is None else next(g for g in groups if g["id"] == key)


def stratum(node: Json, stratifier: str, text_value: str) -> Json:
    entry = next(s for s in node["stratifier"] if s["code"][0]["coding"][0]["code"] == stratifier)
    return next(s for s in entry["stratum"] if s["value"]["text"] == text_value)


def counts(node: Json) -> dict[str, int]:
    return {p["id"]: p["count"] for p in node["population"]}


def score(node: Json) -> float | None:
    return node["measureScore"]["value"] if "measureScore" in node else None


def pct(numerator: float, denominator: float) -> float:
    return round(100 * numerator / denominator, 4)


def test_every_indicator_of_the_territory_as_worked_out_by_hand(territory: Engine, settings: Settings) -> None:
    reports = compute(territory, settings)
    assert len(reports) == 12 * 3  # two centres and the CPTS for each indicator

    # IND-NOSHOW. A: March starts A1..A8, A10, A11 (A8 at 00:30 on March 1 is Feb 28 in UTC; A9 at 00:30 on April 1
    # is March 31 in UTC and is left out) = 10; fulfilled or no-show: A1 A2 A4 A5 A6 A7 A8 A11 = 8 (A3 cancelled,
    # A10 entered-in-error); A5's slot A-S6 is blocked: excluded; no-shows left: A2, A8.
    noshow = group(reports, "IND-NOSHOW", A)
    assert counts(noshow) == {"initial-population": 10, "denominator": 8, "denominator-exclusion": 1, "numerator": 2}
    assert score(noshow) == pct(2, 8 - 1)
    assert counts(stratum(noshow, "profession", "Infirmier")) == {  # A7, at home, fulfilled
        "initial-population": 1, "denominator": 1, "denominator-exclusion": 0, "numerator": 0,
    }  # fmt: skip
    assert score(stratum(noshow, "profession", "Médecin")) == pct(2, 7 - 1)
    assert score(stratum(noshow, "service-type", "home health")) == 0.0
    assert score(stratum(noshow, "specialty", "Médecine générale (SM)")) == pct(2, 6)  # SM54
    # B: B1 no-show, B2 B3 fulfilled, B4 excused (a cancellation by the patient).
    assert counts(group(reports, "IND-NOSHOW", B))["initial-population"] == 4
    assert score(group(reports, "IND-NOSHOW", B)) == pct(1, 3)
    cpts = group(reports, "IND-NOSHOW", "cpts")
    assert counts(cpts) == {"initial-population": 14, "denominator": 11, "denominator-exclusion": 1, "numerator": 3}
    assert score(cpts) == pct(3, 11 - 1)

    # IND-OCCUPANCY. A's March slots: S1..S8, N1, N2 = 10 (S9 April, S10 Feb 28). Offered minutes (S6 blocked):
    # S1..S5 5 x 20 = 100, S7 on the DST night 01:30-03:30 = 60 (not 120), S8 23:30-00:30 clipped at midnight = 30,
    # N1 + N2 = 60: 250. Booked (busy and a live appointment): S1 S2 S4 (20 each), S8 (30), N1 (30) = 120. S3 was
    # freed when A3 was cancelled: not booked.
    occupancy = group(reports, "IND-OCCUPANCY", A)
    assert counts(occupancy) == {
        "initial-population": 10, "denominator": 10, "measure-observation": 9, "denominator-exclusion": 1,
        "numerator": 5, "measure-observation-2": 5,
    }  # fmt: skip
    assert score(occupancy) == pct(120, 250)
    assert score(stratum(occupancy, "room", "Salle 1")) == 100.0  # S1: 20 of 20
    assert score(stratum(occupancy, "room", "sans salle")) == pct(120 - 40, 250 - 40)
    assert score(stratum(occupancy, "practitioner-role", "Claire MARTIN")) == pct(20 + 20 + 20 + 30, 100 + 60 + 30)
    assert score(stratum(occupancy, "practitioner-role", "Paul DURAND")) == pct(30, 60)
    assert score(stratum(occupancy, "service-type", "home health")) == pct(30, 60 + 30)  # N1 booked, S7 not
    assert score(stratum(occupancy, "service-type", "ambulatory")) == pct(90, 160)
    # B: S1..S4 (S4 at 00:30 on March 1 is Feb 28 in UTC), 15 min each; S1 and S2 booked.
    assert score(group(reports, "IND-OCCUPANCY", B)) == pct(30, 60)
    assert score(group(reports, "IND-OCCUPANCY", "cpts")) == pct(120 + 30, 250 + 60)

    # IND-SNP-USE. A's SNP slots: S4 booked, S5 free, S6 blocked (excluded); B's: S1 S2 booked, S3 free.
    assert counts(group(reports, "IND-SNP-USE", A)) == {
        "initial-population": 3, "denominator": 3, "denominator-exclusion": 1, "numerator": 1,
    }  # fmt: skip
    assert score(group(reports, "IND-SNP-USE", A)) == pct(1, 3 - 1)
    assert score(group(reports, "IND-SNP-USE", B)) == pct(2, 3)
    assert score(group(reports, "IND-SNP-USE", "cpts")) == pct(1 + 2, 6 - 1)

    # IND-SNP-OFFER: offered SNP minutes over March's 31 / 7 weeks. A: S4 + S5 = 40; B: 3 x 15 = 45.
    offer = group(reports, "IND-SNP-OFFER", A)
    assert counts(offer) == {
        "initial-population": 3, "measure-population": 2, "measure-population-exclusion": 1,
        "measure-observation": 2,
    }  # fmt: skip
    assert score(offer) == round(40 / (31 / 7), 4)
    assert offer["measureScore"]["unit"] == "minutes"
    assert score(group(reports, "IND-SNP-OFFER", B)) == round(45 / (31 / 7), 4)
    assert score(group(reports, "IND-SNP-OFFER", "cpts")) == round(85 / (31 / 7), 4)

    # IND-THIRD-NEXT: reference day March 31 (the period's last day, earlier than today). MARTIN's free routine
    # non-SNP slots from then: S9 April 1, S11 April 3, S12 April 10 (S13 is SNP) -> 10 days; DURAND has none (in the
    # initial population, not the measure population); PETIT: April 1, April 1, April 2 -> 2 days.
    third = group(reports, "IND-THIRD-NEXT", A)
    assert counts(third) == {"initial-population": 2, "measure-population": 1, "measure-observation": 1}
    assert score(third) == 10.0
    assert score(stratum(third, "profession", "Infirmier")) is None
    assert score(group(reports, "IND-THIRD-NEXT", B)) == 2.0
    assert score(group(reports, "IND-THIRD-NEXT", "cpts")) == (10 + 2) / 2  # the median of two agendas

    # IND-OPENING. A: LILAS Mon-Fri 08-20, Sat 09:00-12:30; ANTENNE Mon 07-09 -> Monday 07-20 = 13 h:
    # 13 + 4 x 12 + 3.5 = 64.5 h; open 8-20 every weekday; Saturday morning. B: 5 x (4 + 5) = 45 h, neither flag.
    assert score(group(reports, "IND-OPENING", A, "weekly-hours")) == 13 + 4 * 12 + 3.5
    assert counts(group(reports, "IND-OPENING", A, "weekly-hours"))["measure-population"] == 2
    assert score(group(reports, "IND-OPENING", A, "weekdays-8-20")) == 1.0
    assert score(group(reports, "IND-OPENING", A, "saturday-morning")) == 1.0
    assert score(group(reports, "IND-OPENING", B, "weekly-hours")) == 5 * (4 + 5)
    assert score(group(reports, "IND-OPENING", B, "weekdays-8-20")) == 0.0
    assert score(group(reports, "IND-OPENING", "cpts", "weekly-hours")) == 64.5 + 45
    assert score(group(reports, "IND-OPENING", "cpts", "saturday-morning")) == 1.0  # one centre of two

    # IND-PICKUP. A: C1..C4, C6 (C6 at 00:10 on March 1; C5 is April in local time) = 5 phone calls; incoming and
    # answered or not: C1 C2 C3 C6 = 4 (C4 outgoing); answered: C1 C3. B: 2 incoming, both answered.
    assert counts(group(reports, "IND-PICKUP", A)) == {
        "initial-population": 5, "denominator": 4, "denominator-exclusion": 0, "numerator": 2,
    }  # fmt: skip
    assert score(group(reports, "IND-PICKUP", A)) == pct(2, 4)
    assert score(group(reports, "IND-PICKUP", "cpts")) == pct(2 + 2, 4 + 2)

    # IND-CCAM (centre only). A: ACT-1 NGAP x1 and ACT-2 CCAM x2 by the physician, ACT-3 NGAP by the nurse (not
    # medical activity), ACT-4 is April -> 1 + 2 + 1 = 4 in the initial population, 3 coded medical acts, 2 CCAM.
    ccam = group(reports, "IND-CCAM", A)
    assert counts(ccam) == {"initial-population": 4, "denominator": 3, "denominator-exclusion": 0, "numerator": 2}
    assert score(ccam) == pct(2, 3)
    assert score(stratum(ccam, "specialty", "non renseigné")) is None  # the nurse's act: zero denominator
    assert score(group(reports, "IND-CCAM", B)) == 100.0
    assert score(group(reports, "IND-CCAM", "cpts")) == pct(2 + 1, 3 + 1)

    # IND-REJECT (centre only). A's March claims: FAC-1 AMO/AMC/PATIENT, FAC-2 AMO/PATIENT, FAC-3 AMO cancelled = 6
    # (FAC-4 is April); sent to AMO/AMC and active: FAC-1 AMO, FAC-1 AMC, FAC-2 AMO = 3; rejected: FAC-1 AMC.
    reject = group(reports, "IND-REJECT", A)
    assert counts(reject) == {"initial-population": 6, "denominator": 3, "denominator-exclusion": 0, "numerator": 1}
    assert score(reject) == pct(1, 3)
    assert score(stratum(reject, "payer", "AMC")) == 100.0
    assert score(stratum(reject, "payer", "PATIENT")) is None  # never sent to an insurer: zero denominator
    assert score(group(reports, "IND-REJECT", "cpts")) == pct(1 + 1, 3 + 1)

    # IND-UNPAID (centre only). A's active March claims: 21 + 9 + 10 + 25 + 5 = 70 EUR; the patient's share: FAC-1
    # 10 - 4 paid = 6, FAC-2 5 (no answer) = 11. B: 20 EUR to the AMO, nothing owed by patients.
    unpaid = group(reports, "IND-UNPAID", A)
    assert counts(unpaid)["numerator"] == 2
    assert score(unpaid) == pct(6 + 5, 21 + 9 + 10 + 25 + 5)
    assert score(group(reports, "IND-UNPAID", B)) == 0.0
    assert score(group(reports, "IND-UNPAID", "cpts")) == pct(11, 70 + 20)

    # IND-MT. A: patients with a fulfilled appointment in the 24 months up to March 31: 00000001 (A1), 00000002 (A6,
    # 23:30 on March 31), 00000003 (A7); 00000004 and 00000005 only missed theirs. GPs declared: 00000001, 00000003.
    # B: 00000002 only (B2, B3), no GP.
    assert counts(group(reports, "IND-MT", A)) == {
        "initial-population": 3, "denominator": 3, "denominator-exclusion": 0, "numerator": 2,
    }  # fmt: skip
    assert score(group(reports, "IND-MT", A)) == pct(2, 3)
    assert score(group(reports, "IND-MT", B)) == 0.0
    assert score(group(reports, "IND-MT", "cpts")) == pct(2, 4)

    # IND-PATHWAY (protocol strata: the titles of the PlanDefinitions the export codes map to, insuffisance-cardiaque
    # → cpts-heart-failure, bpco → cpts-copd). Enrolments overlapping March: A INC-1, INC-3 (active), INC-4 (completed
    # March 15); INC-2 ended in
    # 2025. B: INC-B1 active. Referrals authored in March: t1 completed in 10 days, t2 requested, t3 draft (excluded).
    enrolments = group(reports, "IND-PATHWAY", A, "enrolments")
    assert counts(enrolments) == {"initial-population": 3, "measure-population": 2, "measure-observation": 2}
    assert score(stratum(enrolments, "protocol", "Suivi de l'insuffisance cardiaque")) == 2.0
    assert score(stratum(enrolments, "protocol", "Suivi de la BPCO")) is None  # no active plan: no measure population
    assert score(group(reports, "IND-PATHWAY", "cpts", "enrolments")) == 2 + 1
    referrals = group(reports, "IND-PATHWAY", A, "referrals")
    assert counts(referrals) == {
        "initial-population": 3, "measure-population": 2, "measure-population-exclusion": 1, "measure-observation": 1,
    }  # fmt: skip
    assert score(referrals) == 10.0
    assert score(stratum(referrals, "task-status", "requested")) is None  # not completed: no delay
    assert score(group(reports, "IND-PATHWAY", B, "referrals")) is None  # none at all: zero populations


def _cells(node: Json) -> list[tuple[str, dict[str, int]]]:
    cells = [("", counts(node))]
    for stratifier in node.get("stratifier", []):
        code = stratifier["code"][0]["coding"][0]["code"]
        cells += [(f"{code}={s['value']['text']}", counts(s)) for s in stratifier.get("stratum", [])]
    return cells


def test_the_cpts_report_is_the_sum_of_the_centres_reports(territory: Engine, settings: Settings) -> None:
    reports = compute(territory, settings)
    for measure in sorted({r["measure"].rsplit(":", 1)[1] for r in reports}):
        for index, cpts_group in enumerate(report(reports, measure, "cpts")["group"]):
            total: dict[str, dict[str, int]] = {}
            for centre in (A, B):
                for key, cell in _cells(report(reports, measure, centre)["group"][index]):
                    for population, count in cell.items():
                        total.setdefault(key, {}).setdefault(population, 0)
                        total[key][population] += count
            assert dict(_cells(cpts_group)) == total, measure


def test_reports_are_valid_summary_measure_reports_without_patients(territory: Engine, settings: Settings) -> None:
    reports = compute(territory, settings)
    order = [(r["measure"], r["subject"]["identifier"]["value"]) for r in reports]
    assert order == sorted(order, key=lambda key: (key[0], key[1] == "cpts", key[1]))
    for found in reports:
        validate_resource(found, expected_type="MeasureReport")
        assert (found["status"], found["type"], found["period"]) == (
            "complete", "summary", {"start": "2026-03-01", "end": "2026-03-31"},
        )  # fmt: skip
        assert "evaluatedResource" not in found and "Patient/" not in str(found)
        measure = found["measure"].rsplit(":", 1)[1]
        audience = "centre-only" if measure in ("IND-CCAM", "IND-REJECT", "IND-UNPAID") else "shared"
        assert found["meta"]["tag"] == [{"system": "urn:cpts-gateway:indicator-audience", "code": audience}]
        subject = found["subject"]["identifier"]["value"]
        assert found["id"] == deterministic_id("MeasureReport", measure, subject, "2026-03-01", "2026-03-31")
    centre = report(reports, "IND-NOSHOW", A)["subject"]
    organization = deterministic_id("Organization", FINESS, A)  # what a conditional reference by FINESS resolves to
    assert centre == {"reference": f"Organization/{organization}", "identifier": {"system": FINESS, "value": A}}
    assert report(reports, "IND-NOSHOW", "cpts")["subject"] == {
        "identifier": {"system": "urn:cpts-gateway:scope", "value": "cpts"}, "display": "CPTS",
    }  # fmt: skip
    value = stratum(group(reports, "IND-NOSHOW", A), "profession", "Médecin")["value"]
    assert value["coding"][0]["system"].endswith("TRE-G15-ProfessionSante") and value["coding"][0]["code"] == "10"


def test_two_runs_and_a_second_ingest_of_the_same_exports_give_the_same_reports(
    territory: Engine, settings: Settings
) -> None:
    first = compute(territory, settings)
    pipeline = Pipeline(settings, territory)
    for export in ("slots", "appointments", "calls", "claims"):
        ingest_export(pipeline, A, export)  # the same files again: nothing counted twice
    second = compute(territory, settings)
    assert [{**r, "date": None} for r in first] == [{**r, "date": None} for r in second]


def test_a_centre_filter_keeps_the_cpts_report_whole(territory: Engine, settings: Settings) -> None:
    reports = compute(territory, settings, measures=["IND-NOSHOW", "ind-pickup"], tenants=[B])
    assert [(r["measure"][-10:], r["subject"]["identifier"]["value"]) for r in reports] == [
        ("IND-NOSHOW", B), ("IND-NOSHOW", "cpts"), ("IND-PICKUP", B), ("IND-PICKUP", "cpts"),
    ]  # fmt: skip
    assert counts(group(reports, "IND-NOSHOW", "cpts"))["initial-population"] == 10 + 4  # both centres
    every = compute(territory, settings)
    for measure in ("IND-NOSHOW", "IND-PICKUP"):  # the same strata whichever indicators are computed with them
        assert report(reports, measure, "cpts")["group"] == report(every, measure, "cpts")["group"]
    alone = compute(territory, settings, measures=["IND-NOSHOW"], tenants=[A], cpts=False)
    assert [r["subject"]["identifier"]["value"] for r in alone] == [A]
    assert counts(alone[0]["group"][0])["initial-population"] == 10
