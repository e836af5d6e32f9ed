r"""The ER7 reader against hl7apy on every message of the public corpora, value by value.

hl7apy (``parse_message(find_groups=False)``, tolerant validation for the v2.8 samples) is the reference. Both
readers are walked segment by segment, field repetition by repetition, component by component, sub-component by
sub-component; every value hl7apy holds must be the reader's, and every non-blank value the reader holds must be
one hl7apy holds (counted against a plain split of the corpus text, so an empty or truncated walk fails).

What the comparison has to know about hl7apy 1.3.5:

* it does not unescape: a leaf keeps its escape sequences as written (``.value.value`` of a textual datatype), so
  the reader's raw text is compared with it as is, and the reader's unescaped text with :func:`reference_unescape`
  of it (a separate, regex-based implementation of the same rules);
* leaves of typed datatypes hold Python values: ``to_er7()`` gives a DTM, DT or TM's text back, but SI and NM
  are numbers (``RGS-1`` ``001`` is hl7apy's ``1``), so they are compared as numbers (:func:`same_number`);
* it drops blank fields, and blank components and sub-components of typed fields, so the positions of the ones it
  keeps come from their names (``PID_3``, ``CX_4``, ``HD_2``) when it gives one, and from the order otherwise;
* it only splits segments on ``\r``: :func:`split_messages` hands messages over with ``\r`` separators.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hl7apy.base_datatypes import TextualDataType
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse

from adapters.errors import Hl7Error
from adapters.hl7v2 import Er7Message, Repetition, Segment, Separators, parse_message, split_messages
from tests.conftest import HL7V2_CORPORA

CORPORA = HL7V2_CORPORA
GOOD = ("ansforge-pam-fr", "microsoft-FHIR-Converter", "hl7-v2-to-fhir")
FUZZ = "nhapi-fuzz-badinputs"

# Messages of the good corpora hl7apy cannot parse at all, as "folder/file#message": reason. None today; a message
# listed here is still read by our reader (parse or Hl7Error), and the list must stay exact (see the test).
HL7APY_CANNOT_PARSE: dict[str, str] = {}

POSITION = re.compile(r"[A-Z0-9]+_(\d+)")


def corpus_files(folder: str) -> list[Path]:
    root = CORPORA / folder
    assert root.is_dir(), f"HL7 v2 corpus folder missing: {root} (set CPTS_HL7V2_CORPORA)"
    return sorted(path for path in root.rglob("*") if path.is_file())


def good_messages() -> Iterator[tuple[str, bytes]]:
    for folder in GOOD:
        for path in corpus_files(folder):
            for index, data in split_messages(path.read_bytes()):
                yield f"{folder}/{path.name}#{index}", data


MESSAGES = dict(good_messages())


@cache
def hl7apy_message(key: str) -> Any:
    """hl7apy's parse of a corpus message (decoded the way MSH-18 says), or the exception it raised."""
    try:
        text = parse_message(MESSAGES[key]).text
    except Hl7Error:  # hl7apy still gets its chance at a message our reader refuses
        text = MESSAGES[key].decode("utf-8", errors="replace")
    try:
        return hl7apy_parse(text, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    except Exception as exc:  # any failure of the reference is reported, never hidden
        return exc


def reference_unescape(text: str, seps: Separators, codec: str) -> str:
    """The escape rules of ``adapters.hl7v2.escape``, written independently with a regular expression."""
    esc = re.escape(seps.escape)
    simple = {"F": seps.field, "S": seps.component, "T": seps.subcomponent, "R": seps.repetition, "E": seps.escape}
    if seps.truncation:
        simple["P"] = seps.truncation

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in simple:
            return simple[code]
        if code == ".br":
            return "\n"
        if re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", code):
            try:
                return bytes.fromhex(code[1:]).decode(codec)
            except UnicodeDecodeError:
                pass
        return match.group(0)

    return re.sub(f"{esc}([^{esc}]*){esc}", replace, text)


def leaf_text(sub: Any) -> str:
    """hl7apy's text for a sub-component, as written in the message."""
    value = sub.value
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, TextualDataType):
        return str(value.value)  # escape sequences kept as written
    return str(value.to_er7())  # DTM, DT, TM, NM, SI: the typed value printed back


def same_number(ours: str, sub: Any, text: str) -> str:
    """hl7apy keeps SI and NM leaves as numbers (``001`` becomes ``1``): our text when it is that number."""
    number = getattr(sub.value, "value", None)
    if isinstance(number, int | Decimal) and not isinstance(number, bool):
        try:
            if Decimal(ours) == number:
                return ours
        except InvalidOperation:
            pass
    return text


def blank(text: str) -> bool:
    return not text.strip()


@dataclass
class Report:
    compared: int = 0  # leaves compared
    non_blank: int = 0  # non-blank leaves compared
    mismatches: list[str] = field(default_factory=list)

    def check(self, where: str, ours: object, theirs: object) -> bool:
        if ours != theirs:
            self.mismatches.append(f"{where}: reader {ours!r} != hl7apy {theirs!r}")
            return False
        return True


def position(element: Any) -> int | None:
    match = POSITION.fullmatch(element.name or "")
    return int(match.group(1)) if match else None


def align(where: str, our_blank: list[bool], theirs: list[Any], their_blank: list[bool], report: Report) -> list[int]:
    """For each of hl7apy's children, the index of ours it stands for; hl7apy skips only blank ones of ours."""
    indexes: list[int] = []
    i = 0
    for child, child_blank in zip(theirs, their_blank, strict=True):
        named = position(child)
        if named is not None:
            j = named - 1
        elif child_blank:
            j = i
        else:
            j = next((k for k in range(i, len(our_blank)) if not our_blank[k]), len(our_blank))
        if j < i or j >= len(our_blank) or not all(our_blank[i:j]):
            report.mismatches.append(f"{where}: hl7apy child {child.name} #{len(indexes) + 1} has no match in ours")
            return []
        indexes.append(j)
        i = j + 1
    if not all(our_blank[i:]):
        report.mismatches.append(f"{where}: reader values after index {i} that hl7apy does not have")
    return indexes


def compare_repetition(
    msg: Er7Message, seg: Segment, number: int, rep: Repetition, their_field: Any, report: Report
) -> None:
    seps = msg.separators
    verbatim = seg.name == "MSH" and number <= 2
    raw = [[rep.raw]] if verbatim else [c.split(seps.subcomponent) for c in rep.raw.split(seps.component)]
    unescaped = rep.components()
    report.check(f"{rep.location} shape", [len(c) for c in unescaped], [len(c) for c in raw])
    comps = list(their_field.children)
    comp_leaves = [[leaf_text(s) for s in c.children] for c in comps]
    comp_indexes = align(
        rep.location,
        [blank(seps.subcomponent.join(c)) for c in raw],
        comps,
        [all(blank(t) for t in leaves) for leaves in comp_leaves],
        report,
    )
    for c_index, comp, leaves in zip(comp_indexes, comps, comp_leaves, strict=False):
        subs = list(comp.children)
        where = f"{rep.location}.{c_index + 1}"
        sub_indexes = align(where, [blank(t) for t in raw[c_index]], subs, [blank(t) for t in leaves], report)
        for s_index, sub, text in zip(sub_indexes, subs, leaves, strict=False):
            path = f"{seg.label}-{number}[{rep.index}].{c_index + 1}.{s_index + 1}"
            text = same_number(raw[c_index][s_index], sub, text)
            expected = text if verbatim else reference_unescape(text, seps, msg.encoding)
            expected_value = None if blank(text) else expected
            report.compared += 1
            report.non_blank += expected_value is not None
            report.check(f"{path} raw", raw[c_index][s_index], text)
            report.check(f"{path} unescaped", unescaped[c_index][s_index], expected)
            report.check(f"{path} sub()", rep.sub(c_index + 1, s_index + 1), expected_value)
            report.check(f"{path} get()", msg.get(path), expected_value)
            relative = f"{number}[{rep.index}].{c_index + 1}.{s_index + 1}"
            report.check(f"{path} segment get()", seg.get(relative), expected_value)


def compare(msg: Er7Message, theirs: Any, report: Report) -> None:
    segments = list(theirs.children)
    if not report.check("segment names", [s.name for s in msg.segments], [s.name for s in segments]):
        return
    for seg, their_seg in zip(msg.segments, segments, strict=True):
        ours = [(n, rep) for n in range(1, seg.field_count + 1) for rep in seg.field(n).repetitions]
        fields = list(their_seg.children)
        if not report.check(f"{seg.label} field repetitions", len(ours), len(fields)):
            continue
        for (number, rep), their_field in zip(ours, fields, strict=True):
            named = re.fullmatch(rf"{seg.name}_(\d+)", their_field.name or "")
            if named:
                report.check(f"{rep.location} field number", number, int(named.group(1)))
            compare_repetition(msg, seg, number, rep, their_field, report)


def non_blank_leaves(data: bytes) -> int:
    """Non-blank sub-components of a message, by a plain split of its text (MSH-1 and MSH-2 count as one each)."""
    msg = parse_message(data)
    seps = msg.separators
    count = 0
    for line in msg.text.split("\r"):
        fields = line.strip().split(seps.field)[1:]
        if line.startswith("MSH"):
            count += 2
            fields = fields[1:]
        for text in fields:
            if blank(text):
                continue
            for rep in text.split(seps.repetition):
                for comp in rep.split(seps.component):
                    count += sum(not blank(sub) for sub in comp.split(seps.subcomponent))
    return count


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_reader_equals_hl7apy(key: str) -> None:
    theirs = hl7apy_message(key)
    if isinstance(theirs, Exception):
        assert key in HL7APY_CANNOT_PARSE, f"hl7apy cannot parse {key}: {theirs!r}; list it with the reason"
        with contextlib.suppress(Hl7Error):  # nothing to compare with: ours reads it or refuses it cleanly
            parse_message(MESSAGES[key])
        return
    msg = parse_message(MESSAGES[key])
    report = Report()
    compare(msg, theirs, report)
    assert report.mismatches == []
    assert report.non_blank == non_blank_leaves(MESSAGES[key]) > 0


def test_hl7apy_failures_are_listed_exactly() -> None:
    failing = {key for key in MESSAGES if isinstance(hl7apy_message(key), Exception)}
    assert failing == set(HL7APY_CANNOT_PARSE)
    for key in HL7APY_CANNOT_PARSE:
        with contextlib.suppress(Hl7Error):
            parse_message(MESSAGES[key])


def test_the_whole_corpus_is_compared() -> None:
    """Every message of the three folders, and every non-blank value of each, goes through the comparison."""
    assert len(MESSAGES) >= sum(len(corpus_files(folder)) for folder in GOOD) == 35
    report = Report()
    for key in MESSAGES:
        theirs = hl7apy_message(key)
        if not isinstance(theirs, Exception):
            compare(parse_message(MESSAGES[key]), theirs, report)
    assert report.mismatches == []
    expected = sum(non_blank_leaves(MESSAGES[key]) for key in MESSAGES if key not in HL7APY_CANNOT_PARSE)
    assert report.non_blank == expected > 10_000
    assert report.compared >= report.non_blank


SABOTAGE = {
    "a value changed": (b"EVERYMAN&&&&Aniston^ADAM", b"EVERYMAN&&&&Aniston^ADAN"),
    "a field shifted": (b"|PSSN123121234|", b"||PSSN123121234|"),
    "a component shifted": (b"|M^Married|", b"|^M^Married|"),
    "an escape decoded differently": (b"A\\T\\E", b"A\\S\\E"),
    "a repetition dropped": (b"|7777^^CP~1111^^TDD|", b"|7777^^CP|"),
}


@pytest.mark.parametrize("change", sorted(SABOTAGE))
def test_a_wrong_reading_is_detected(change: str) -> None:
    """The comparison is not vacuous: reading a slightly different message than hl7apy's is caught."""
    key = "microsoft-FHIR-Converter/ADT-A04-01.hl7#1"
    before, after = SABOTAGE[change]
    assert MESSAGES[key].count(before) == 1
    report = Report()
    compare(parse_message(MESSAGES[key].replace(before, after)), hl7apy_message(key), report)
    assert report.mismatches


@pytest.mark.parametrize(
    "path", corpus_files(FUZZ), ids=lambda path: str(path.relative_to(CORPORA / FUZZ)).replace(",", "_")
)
def test_fuzz_inputs_are_read_or_refused_cleanly(path: Path) -> None:
    """nHapi's fuzzer-found inputs: read, or refused with Hl7Error; never another exception, never a hang.

    The reader has no recursion and every loop consumes its input, so a hang would be a bug; these run in the
    same process and a hang would stall the suite visibly.
    """
    data = path.read_bytes()
    msg: Er7Message | None = None
    error: Hl7Error | None = None
    try:
        msg = parse_message(data)
    except Hl7Error as exc:
        error = exc
    if error is not None:
        assert error.code.startswith("ADP-HL7-") and error.location
    if msg is not None:
        for seg in msg.segments:
            for number in range(1, seg.field_count + 1):
                for rep in seg.field(number).repetitions:
                    rep.components()
                    assert msg.get(f"{seg.label}-{number}[{rep.index}].1.1") == rep.sub(1, 1)
        msg.message_type()
    try:
        messages = split_messages(data)
    except Hl7Error:
        return
    for _, one in messages:
        with contextlib.suppress(Hl7Error):
            parse_message(one)
