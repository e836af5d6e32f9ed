"""The suite's vocabulary: results, messages with locations, check outcomes and a run's report.

A check ends with one result (Inferno's five): ``pass``, ``fail`` (a requirement is broken; its messages say where),
``skip`` (the check could not run: an input is missing, the endpoint did not answer), ``omit`` (nothing in the target
for it to check: no slots export, an export-only run for an endpoint check) or ``error`` (the check itself broke).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Result = Literal["pass", "fail", "skip", "omit", "error"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "skip", "omit", "error")
Severity = Literal["error", "warning", "info"]
MAX_MESSAGES = 100  # messages kept per check; the count of all of them is kept too


@dataclass(frozen=True, slots=True)
class Message:
    """What a check found: ``text``, where (``slots.csv:17:url_reservation``, ``Bundle.entry[2].resource.status``)."""

    text: str
    location: str | None = None
    severity: Severity = "error"

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, "text": self.text, "location": self.location}


class Skip(Exception):
    """Raised by a check that cannot run (``reason`` says why: a missing input, an unreachable endpoint)."""


class Omit(Exception):
    """Raised by a check that has nothing to look at in this target."""


@dataclass
class Outcome:
    """The result of one check in one run."""

    check: str  # the check's id
    result: Result
    messages: list[Message] = field(default_factory=list)
    total_messages: int = 0  # may exceed len(messages): only MAX_MESSAGES are kept
    reason: str | None = None  # why skipped, omitted or errored
    checked: int = 0  # how many records, files or requests the check looked at
    seconds: float = 0.0

    def add(self, message: Message) -> None:
        self.total_messages += 1
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)


@dataclass
class RunReport:
    """Everything one run produced; the reporters render it."""

    id: str
    started: str  # ISO instant with offset
    finished: str
    target: dict[str, Any]  # {"kind": "export", "files": [...]} or {"kind": "endpoint", "url": ...}
    inputs: dict[str, str]
    outcomes: list[Outcome]
    tool_version: str = "cpts-gateway"

    def outcome(self, check_id: str) -> Outcome:
        return next(o for o in self.outcomes if o.check == check_id)


__all__ = ["MAX_MESSAGES", "RESULTS", "Message", "Omit", "Outcome", "Result", "RunReport", "Severity", "Skip"]
