"""The referral state machine (FHIR Task.status), as a data table: ``mappings/pathways/task-transitions.yaml``.

:func:`check_transition` judges one write of a Task: the status it is created with, or the move from the stored
status to the new one, and whether the caller is on the side that may make the move (the owner's centre accepts,
rejects, starts and completes; the requester's centre cancels). Refusals are 409 OperationOutcomes at
``Task.status`` stating the rule.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

import mappings
from gateway.errors import Conflict, Forbidden
from mappings.issues import MappingFileError

TRANSITIONS_FILE = Path(mappings.__file__).parent / "pathways" / "task-transitions.yaml"
TASK_STATUSES = frozenset(
    {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
     "failed", "completed", "entered-in-error"}
)  # fmt: skip
Side = Literal["owner", "requester", "either"]


class TransitionTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    initial: frozenset[str]
    transitions: dict[str, dict[str, Side]]

    @model_validator(mode="after")
    def _statuses(self) -> TransitionTable:
        named = set(self.initial) | set(self.transitions)
        named |= {target for moves in self.transitions.values() for target in moves}
        unknown = sorted(named - TASK_STATUSES)
        if unknown:
            raise ValueError(f"not FHIR R4 Task statuses: {', '.join(unknown)}")
        return self

    def allowed(self, status: str) -> list[str]:
        return sorted(self.transitions.get(status, {}))


@lru_cache(maxsize=1)
def transition_table(path: Path = TRANSITIONS_FILE) -> TransitionTable:
    """The table, checked; a bad file raises MappingFileError naming the file and the key (start-up stops)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return TransitionTable.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise MappingFileError(str(path), "", f"not a readable YAML file ({exc})") from exc
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise MappingFileError(str(path), ".".join(str(p) for p in error["loc"]), error["msg"]) from exc


def check_transition(before: str | None, after: str, *, owner: bool, requester: bool) -> None:
    """Refuse an illegal status, or a move the caller's side may not make.

    ``before`` is the stored status (None for a creation); ``owner`` / ``requester``: the caller acts for the
    owner's / the requester's centre."""
    table = transition_table()
    if before is None:
        if after not in table.initial:
            raise Conflict(
                f"a referral (Task) is created with status {' or '.join(sorted(table.initial))}, not '{after}'",
                expression="Task.status",
                code="PATHWAY-TASK-TRANSITION",
            )
        return
    if before == after:
        return
    moves = table.transitions.get(before, {})
    side = moves.get(after)
    if side is None:
        allowed = ", ".join(table.allowed(before)) or "none: it is final"
        raise Conflict(
            f"a referral (Task) may not go from '{before}' to '{after}'; from '{before}' it may go to: {allowed}",
            expression="Task.status",
            code="PATHWAY-TASK-TRANSITION",
        )
    permitted = {"owner": owner, "requester": requester, "either": owner or requester}[side]
    if not permitted:
        who = {"owner": "the owner's centre", "requester": "the requester's centre", "either": "the two centres"}
        raise Forbidden(
            f"only {who[side]} may move a referral (Task) from '{before}' to '{after}'",
            expression="Task.status",
            code="PATHWAY-TASK-SIDE",
        )


__all__ = ["TRANSITIONS_FILE", "TransitionTable", "check_transition", "transition_table"]
