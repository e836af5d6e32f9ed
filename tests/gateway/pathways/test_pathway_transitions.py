"""The referral state machine as data (mappings/pathways/task-transitions.yaml): every pair of statuses judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import Conflict, Forbidden
from gateway.pathways.transitions import TASK_STATUSES, check_transition, transition_table
from mappings.issues import MappingFileError

# the FHIR Task workflow the issue asks for: (from, to) -> who may make the move
EXPECTED = {
    ("draft", "requested"): "requester",
    ("draft", "cancelled"): "requester",
    ("requested", "received"): "owner",
    ("requested", "accepted"): "owner",
    ("requested", "rejected"): "owner",
    ("requested", "cancelled"): "requester",
    ("received", "accepted"): "owner",
    ("received", "rejected"): "owner",
    ("received", "cancelled"): "requester",
    ("accepted", "in-progress"): "owner",
    ("accepted", "cancelled"): "either",
    ("in-progress", "completed"): "owner",
    ("in-progress", "failed"): "owner",
    ("in-progress", "cancelled"): "either",
}
SIDES = {"owner": (True, False), "requester": (False, True)}


def test_the_table_is_the_expected_workflow() -> None:
    table = transition_table()
    found = {(before, after): side for before, moves in table.transitions.items() for after, side in moves.items()}
    assert found == EXPECTED
    assert table.initial == {"draft", "requested"}


@pytest.mark.parametrize("before", sorted(TASK_STATUSES))
@pytest.mark.parametrize("after", sorted(TASK_STATUSES))
def test_every_pair_of_statuses(before: str, after: str) -> None:
    side = EXPECTED.get((before, after))
    if before == after:
        check_transition(before, after, owner=False, requester=False)  # not a move: a note, an output, a due date
        return
    if side is None:
        with pytest.raises(Conflict) as refused:
            check_transition(before, after, owner=True, requester=True)
        assert refused.value.expression == ("Task.status",) and refused.value.code == "PATHWAY-TASK-TRANSITION"
        assert f"from '{before}' to '{after}'" in refused.value.diagnostics
        return
    for name, (owner, requester) in SIDES.items():
        if side in (name, "either"):
            check_transition(before, after, owner=owner, requester=requester)
        else:
            with pytest.raises(Forbidden) as wrong_side:
                check_transition(before, after, owner=owner, requester=requester)
            assert wrong_side.value.code == "PATHWAY-TASK-SIDE"
    with pytest.raises(Forbidden):
        check_transition(before, after, owner=False, requester=False)


@pytest.mark.parametrize("status", sorted(TASK_STATUSES))
def test_creation_statuses(status: str) -> None:
    if status in ("draft", "requested"):
        check_transition(None, status, owner=False, requester=False)
    else:
        with pytest.raises(Conflict):
            check_transition(None, status, owner=True, requester=True)


def test_a_bad_table_names_the_file_and_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "transitions.yaml"
    bad.write_text("initial: [requested]\ntransitions:\n  requested: {done: owner}\n", encoding="utf-8")
    with pytest.raises(MappingFileError) as error:
        transition_table.__wrapped__(bad)
    assert "done" in str(error.value) and "transitions.yaml" in str(error.value)
    bad.write_text("initial: [requested]\ntransitions:\n  requested: {accepted: anyone}\n", encoding="utf-8")
    with pytest.raises(MappingFileError) as error:
        transition_table.__wrapped__(bad)
    assert "transitions.requested.accepted" in str(error.value)
