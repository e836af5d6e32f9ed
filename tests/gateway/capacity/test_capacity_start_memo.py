"""A Slot search's ``start`` condition is built once per value and zone, and a bad value is refused every time."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from gateway.capacity import slot_plan
from gateway.capacity.slot_plan import START_MEMO_MAX, _start_condition
from gateway.errors import InvalidRequest
from gateway.fhir.query import Filter
from gateway.fhir.searchparams import param

PARIS, UTC = ZoneInfo("Europe/Paris"), ZoneInfo("UTC")
START = Filter("start", param("Slot", "start"), None, None, ("ge2030-03-11T08:00:00+01:00",))


def test_a_value_is_built_once_per_zone() -> None:
    first = _start_condition("ge2030-03-11T08:00:00+01:00", PARIS, START)
    assert _start_condition("ge2030-03-11T08:00:00+01:00", PARIS, START) is first
    assert _start_condition("ge2030-03-11T08:00:00+01:00", UTC, START) is not first
    assert _start_condition("le2030-03-11T08:00:00+01:00", PARIS, START) is not first


def test_a_bad_value_is_refused_each_time_and_never_kept() -> None:
    for _ in range(2):
        with pytest.raises(InvalidRequest) as refused:
            _start_condition("ge2030-13-45", PARIS, START)
        assert refused.value.to_operation_outcome()["issue"][0]["expression"] == ["parameter:start"]
    assert ("ge2030-13-45", PARIS) not in slot_plan._START_CONDITIONS


def test_the_memo_stays_bounded() -> None:
    for n in range(START_MEMO_MAX + 10):  # distinct seconds of one day
        _start_condition(f"ge2030-03-11T00:{n // 60 % 60:02d}:{n % 60:02d}+01:00", UTC, START)
    assert len(slot_plan._START_CONDITIONS) <= START_MEMO_MAX
