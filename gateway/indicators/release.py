"""What of the stored indicator reports a caller receives, on every route (FHIR read, vread, history, search,
``_include``; $evaluate-measure; the exports).

Three views, from the caller's role (security/roles.yaml):

- ``all`` (development open access): every report as stored;
- ``masked`` (roles that read MeasureReport as ``aggregates`` only: coordinators): the reports of every centre and
  of the CPTS whose indicator is ``shared``, masked (gateway/indicators/masking.py); a CPTS-wide report is masked
  against the centre reports the caller sees, and a report of several months against the same subject's months and
  quarters inside it, so that no difference gives a masked count back.
  ``centre-only`` reports are refused on read (403) and left out of searches in the query itself, so no total counts
  them; a report that is not a summary (patient-level) is never released to them;
- ``own`` (every other role: centres): its own centre's reports as stored (tenancy does the rest); a CPTS-wide report
  masked against the centre's own report (the difference would be the other centres' counts).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any, Literal

import orjson
from sqlalchemy import Connection

from gateway.errors import Forbidden
from gateway.indicators.masking import mask_report
from gateway.indicators.periods import is_month, is_quarter
from gateway.indicators.reports import (
    AUDIENCE_SYSTEM,
    MEASURE_PREFIX,
    SHARED,
    audience,
    centre_of,
    find_reports,
    is_cpts_wide,
    period_of,
)
from gateway.settings import Settings
from gateway.storage.store import ResourceStore, StoredResource
from security.principal import Principal

View = Literal["all", "masked", "own"]
Shown = dict[tuple[str, str, str, str], dict[str, Any]]  # (measure, subject, period, version) -> as the caller sees it
_INDICATOR = re.compile(r"^IND-[A-Z0-9]+(-[A-Z0-9]+)*$")
_MEASURE_REFERENCE = re.compile(r"^Measure/(ind-[a-z0-9]+(-[a-z0-9]+)*)$")


def view_of(principal: Principal) -> View:
    if principal.is_developer:
        return "all"
    if "MeasureReport" in principal.role.aggregates:
        return "masked"
    return "own"


def _measure_value(value: str) -> str:
    """``IND-NOSHOW`` or ``Measure/ind-noshow`` → the Measure's canonical; anything else unchanged."""
    parts = []
    for one in value.split(","):
        if _INDICATOR.match(one):
            one = MEASURE_PREFIX + one
        elif (match := _MEASURE_REFERENCE.match(one)) is not None:
            one = MEASURE_PREFIX + match.group(1).upper()
        parts.append(one)
    return ",".join(parts)


class ReportRelease:
    def __init__(self, store: ResourceStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    @property
    def max_count(self) -> int:
        return self.settings.indicator_small_count_max

    # -- searches ----------------------------------------------------------------------------------------------------
    def search_pairs(self, principal: Principal, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """MeasureReport search parameters as the index holds them, plus the audience filter of the masked view."""
        out = []
        for name, value in pairs:
            if name in ("measure", "measure:Measure"):
                value = _measure_value(value)
                name = "measure"
            elif name == "subject:identifier":
                name = "subject-identifier"
            out.append((name, value))
        if view_of(principal) == "masked":
            out.append(("_tag", f"{AUDIENCE_SYSTEM}|{SHARED}"))
        return out

    # -- one report --------------------------------------------------------------------------------------------------
    def check_read(self, principal: Principal, stored: StoredResource) -> None:
        """A coordinator is refused what it may never see (a centre-only indicator, a patient-level report)."""
        if stored.resource_type != "MeasureReport" or view_of(principal) != "masked":
            return
        if not self._releasable(stored.json()):
            raise Forbidden(
                f"{stored.reference}: {principal.role.name} does not receive centre-only or patient-level reports",
                expression="MeasureReport",
                code="SEC-INDICATOR-AUDIENCE",
            )

    @staticmethod
    def _releasable(report: dict[str, Any]) -> bool:
        return audience(report) == SHARED and report.get("type") == "summary"

    # -- what leaves -------------------------------------------------------------------------------------------------
    def release(self, conn: Connection, principal: Principal, items: list[StoredResource]) -> list[StoredResource]:
        """The resources as the caller receives them: MeasureReports masked or left out; others untouched."""
        view = view_of(principal)
        if view == "all" or not any(item.resource_type == "MeasureReport" for item in items):
            return items
        out = []
        cache: Shown = {}  # the reports an answer needs, each masked once
        for item in items:
            if item.resource_type != "MeasureReport":
                out.append(item)
                continue
            report = item.json()
            if view == "masked" and not self._releasable(report):
                continue
            shown = self.shown(conn, principal, report, view, cache)
            out.append(item if shown is report else dataclasses.replace(item, content=orjson.dumps(shown).decode()))
        return out

    def shown(
        self,
        conn: Connection,
        principal: Principal,
        report: dict[str, Any],
        view: View | None = None,
        cache: Shown | None = None,
    ) -> dict[str, Any]:
        """One report as ``principal`` receives it (the same object when it leaves unchanged): masked against the
        reports that add up to it as the caller sees them (a CPTS-wide report's centres; a period's months and
        quarters of the same subject)."""
        view = view or view_of(principal)
        if view == "all" or (view == "own" and not is_cpts_wide(report)):
            return report
        cache = {} if cache is None else cache
        version = str((report.get("meta") or {}).get("versionId", ""))
        key = (str(report.get("measure")), _subject(report), str(report.get("period")), version)
        if key not in cache:
            partitions = self._sub_periods(conn, principal, report, view, cache)
            if is_cpts_wide(report):
                partitions.append(self._centres(conn, principal, report, view, cache))
            cache[key] = mask_report(report, self.max_count, partitions)
        return cache[key]

    def _centres(
        self, conn: Connection, principal: Principal, report: dict[str, Any], view: View, cache: Shown
    ) -> list[dict[str, Any]]:
        """The centre reports of the same measure and period the caller sees, as it sees them (a centre: its own)."""
        period = period_of(report)
        if period is None:
            return []
        if view == "own":
            if principal.tenant is None:
                return []
            tenants: list[str | None] | None = [principal.tenant]
        else:
            tenants = None
        found = find_reports(conn, self.store, measure=str(report.get("measure")), start=period[0], end=period[1],
                             tenants=tenants)  # fmt: skip
        centres = [f.json() for f in found if f.tenant is not None]
        return [self.shown(conn, principal, c, view, cache) for c in centres if self._admitted(c, view)]

    def _sub_periods(
        self, conn: Connection, principal: Principal, report: dict[str, Any], view: View, cache: Shown
    ) -> list[list[dict[str, Any]]]:
        """The same subject's months within the report's period, and its quarters, as the caller sees them: each a
        partition of the period (the quarter minus two months shown gives the third)."""
        period = period_of(report)
        if period is None or is_month(*period):
            return []
        subject = _subject(report)
        owner: list[str | None] = [None] if subject == "cpts" else [subject]
        found = find_reports(conn, self.store, measure=str(report.get("measure")), start=period[0], end=period[1],
                             exact=False, tenants=owner)  # fmt: skip
        months: list[dict[str, Any]] = []
        quarters: list[dict[str, Any]] = []
        for stored in found:
            part = stored.json()
            bounds = period_of(part)
            if bounds is None or bounds == period or _subject(part) != subject or not self._admitted(part, view):
                continue
            if is_month(*bounds):
                months.append(part)
            elif is_quarter(*bounds):
                quarters.append(part)
        return [[self.shown(conn, principal, p, view, cache) for p in group] for group in (months, quarters) if group]

    def _admitted(self, report: dict[str, Any], view: View) -> bool:
        return view != "masked" or self._releasable(report)


def _subject(report: dict[str, Any]) -> str:
    return "cpts" if is_cpts_wide(report) else (centre_of(report) or "")


__all__ = ["ReportRelease", "View", "view_of"]
