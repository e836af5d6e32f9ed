"""What one request did, noted as it happens, for its AuditEvent: the request layer opens a ledger per request
(a context variable, which the worker threads of a request inherit) and records it when the response has gone."""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field

MAX_LISTED = 200  # references listed in one event; the count says how many more there were


@dataclass
class Ledger:
    action: str | None = None  # read | vread | search | history | create | update | delete | transaction | ...
    resource_type: str | None = None
    resources: list[str] = field(default_factory=list)  # "Type/id" disclosed or written
    patients: set[str] = field(default_factory=set)  # "Patient/id" whose data was concerned
    permits: Counter[str] = field(default_factory=Counter)  # consent reason -> resources permitted for it
    denials: Counter[str] = field(default_factory=Counter)  # reason -> resources hidden or refused for it
    error: str | None = None  # the error code the request ended with (SEC-TENANT, CONSENT-OBJECTION, ...)
    detail: str | None = None
    more: int = 0  # resources beyond MAX_LISTED
    # resources disclosed without being listed, by type: capacity and directory resources that are no patient's data
    # for the caller, which the query, the time and the version history identify (an INT_R04 answer: hundreds of Slots)
    counted: Counter[str] = field(default_factory=Counter)

    def note(self, action: str, resource_type: str | None) -> None:
        if self.action is None:  # the outermost interaction names the event (a transaction, not its entries)
            self.action, self.resource_type = action, resource_type

    def disclose(self, references: list[str], patients: set[str], count: int | None = None) -> None:
        """``count``: how many resources were disclosed when ``references`` lists only the first of them."""
        room = MAX_LISTED - len(self.resources)
        self.resources.extend(references[: max(room, 0)])
        self.more += max((len(references) if count is None else count) - max(room, 0), 0)
        self.patients |= patients

    def count(self, resource_type: str, count: int) -> None:
        """``count`` resources of ``resource_type`` disclosed, recorded by number only."""
        if count:
            self.counted[resource_type] += count

    @property
    def decision(self) -> str | None:
        if self.error is not None and (self.error.startswith("SEC-") or self.error.startswith("CONSENT-")):
            return "deny"
        if self.denials and not self.permits and not self.resources:
            return "deny"
        if self.permits or self.denials:
            return "permit"
        return None

    @property
    def reason(self) -> str | None:
        if self.error is not None:
            return self.error
        reasons = [*self.permits, *self.denials]
        return ",".join(sorted(set(reasons))) if reasons else None


_current: ContextVar[Ledger | None] = ContextVar("cpts_ledger", default=None)


def open_ledger() -> Ledger:
    ledger = Ledger()
    _current.set(ledger)
    return ledger


def current() -> Ledger:
    """The request's ledger; outside a request (CLI, ingest worker) a throwaway one."""
    ledger = _current.get()
    return ledger if ledger is not None else Ledger()


__all__ = ["MAX_LISTED", "Ledger", "current", "open_ledger"]
