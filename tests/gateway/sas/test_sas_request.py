"""The INT_R04 request parser: any text gives a checked request or a 400 naming the parameter, never a traceback."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidRequest
from gateway.sas.request import applies, check
from tests.gateway.sas.sas_support import INCLUDES, int_r04

PARIS = ZoneInfo("Europe/Paris")
RPPS = st.from_regex(r"\A8[0-9]{11}\Z")


@given(st.text(max_size=40), st.text(max_size=40))
def test_sas_any_start_values_are_checked_or_refused(low: str, high: str) -> None:
    try:
        query = check(int_r04(["810000000001"], low, high), PARIS)
    except InvalidRequest as exc:
        expression = exc.issues[0].expression
    else:
        expression = ("parameter:start",)
        assert query.low <= query.high
    assert expression == ("parameter:start",)


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3)),
    st.sampled_from(["", "Z", "+01:00", "-03:00", "+00:00"]),
    st.sampled_from(["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.000"]),
    st.lists(RPPS, min_size=1, max_size=25),
)
def test_sas_well_formed_requests_pass(
    start: dt.datetime, span: dt.timedelta, offset: str, layout: str, rpps: list[str]
) -> None:
    end = start.replace(second=0) + span + dt.timedelta(minutes=1)
    query = check(int_r04(rpps, start.strftime(layout) + offset, end.strftime(layout) + offset), PARIS)
    assert query.practitioners == tuple(rpps)


@given(st.text(max_size=60))
def test_sas_any_identifier_text_is_checked_or_refused(raw: str) -> None:
    pairs = [
        (k, raw if k.startswith("schedule.") else v)
        for k, v in int_r04(["810000000001"], "2026-01-01T00:00", "2026-01-02T00:00")
    ]
    expression: tuple[str, ...] = ("parameter:schedule.actor:Practitioner.identifier",)
    try:
        check(pairs, PARIS)
    except InvalidRequest as exc:
        expression = exc.issues[0].expression
    assert expression == ("parameter:schedule.actor:Practitioner.identifier",)


def test_sas_contract_scope() -> None:
    assert applies("sas-consumer", [("status", "free")])
    assert not applies("coordinator", [("status", "free"), *INCLUDES[:2]])
    assert applies("coordinator", [("status", "free"), *INCLUDES])
