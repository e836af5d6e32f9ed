"""File format and encoding: what makes an export readable at all (requirements FMT-*)."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.exports import ExportFile, Record
from conformance.model import Message, Omit
from conformance.registry import check, group

FORMAT = group("format", "File format and encoding", "Encoding, delimiter, header, rows and values of the exports.")
README = "gateway export format, mappings/csv/README.md"
_DST = ("happens twice in", "does not exist in")


def _file_error(file: ExportFile, codes: tuple[str, ...]) -> Iterator[Message]:
    if file.error is not None and file.error.code in codes:
        yield Message(f"{file.error.code}: {file.error.message}", file.error.location or file.name)


@check(
    "csv-readable",
    title="CSV files can be decoded and their quotes close",
    description="The file decodes as UTF-8 (with or without BOM) or Windows-1252, and every quoted field closes.",
    source=f"{README} (File rules)", verifies=["FMT-01", "FMT-05"], group=FORMAT, kind="file", applies=["csv"],
    fix="Export the file in UTF-8; double every quote inside a quoted cell and close every quoted cell.",
)  # fmt: skip
def csv_readable(file: ExportFile) -> Iterator[Message]:
    yield from _file_error(file, ("ADP-CSV-ENCODING", "ADP-CSV-QUOTE", "ADP-CSV-EMPTY"))


@check(
    "csv-utf8",
    title="CSV files are in UTF-8",
    description="Windows-1252 is read, but UTF-8 is the format's encoding: accented names survive every tool.",
    source=f"{README} (File rules)", verifies=["FMT-02"], group=FORMAT, kind="file", applies=["csv"],
    fix="Choose UTF-8 in the export settings of the software.",
)  # fmt: skip
def csv_utf8(file: ExportFile) -> Iterator[Message]:
    if file.table is None:
        raise Omit("the file could not be read")
    if file.table.encoding == "cp1252":
        yield Message("the file is encoded in Windows-1252, not UTF-8", file.name)


@check(
    "csv-header",
    title="CSV headers name every required column once",
    description="The header line has unique, non-empty names and every required column of the export kind "
    "(the layout chosen from the header or the export/vendor inputs).",
    source=f"{README} (File rules, The exports)", verifies=["FMT-03"], group=FORMAT, kind="file", applies=["csv"],
    fix="Write the header exactly as mappings/csv/README.md lists the columns of the export; keep each name once.",
)  # fmt: skip
def csv_header(file: ExportFile) -> Iterator[Message]:
    yield from _file_error(file, ("ADP-CSV-HEADER",))


@check(
    "csv-delimiter",
    title="CSV files use the semicolon",
    description="The delimiter is ';' (',' and tab are recognised, but ';' is the format's).",
    source=f"{README} (File rules)", verifies=["FMT-04"], group=FORMAT, kind="file", applies=["csv"],
    fix="Choose ';' as the separator of the export.",
)  # fmt: skip
def csv_delimiter(file: ExportFile) -> Iterator[Message]:
    yield from _file_error(file, ("ADP-CSV-DELIMITER",))
    if file.table is not None and file.table.delimiter != ";":
        yield Message(f"the delimiter is {file.table.delimiter!r}, not ';'", f"{file.name}:{file.table.header_line}")


@check(
    "csv-rows",
    title="Every CSV row has the header's number of fields",
    description="A row with more or fewer fields than the header is rejected by the gateway (ADP-CSV-ROW).",
    source=f"{README} (Rejections)", verifies=["FMT-05"], group=FORMAT, kind="record", applies=["csv:"],
    fix="Quote cells that contain the delimiter or a line break; write one field per column on every row.",
)  # fmt: skip
def csv_rows(record: Record) -> Iterator[Message]:
    for issue in record.issues:
        if issue.details_code == "ADP-CSV-ROW":
            yield Message(issue.diagnostics, record.location)


@check(
    "csv-values",
    title="Every CSV cell holds a value of its type",
    description="Dates, date-times, numbers, yes/no and coded cells parse; required cells are filled "
    "(MAP-VALUE, MAP-CODE, MAP-REQUIRED). Daylight-saving problems are reported by local-times-exist.",
    source=f"{README} (Value formats)", verifies=["FMT-06"], group=FORMAT, kind="record", applies=["csv:"],
    fix="Write the values as the format's value table says (dd/mm/yyyy, dd/mm/yyyy HH:MM, oui/non, the listed codes).",
)  # fmt: skip
def csv_values(record: Record) -> Iterator[Message]:
    for issue in record.issues:
        code = issue.details_code or ""
        if code in ("MAP-VALUE", "MAP-CODE", "MAP-REQUIRED") and not any(d in issue.diagnostics for d in _DST):
            yield Message(f"{code}: {issue.diagnostics}", ", ".join(issue.expression) or record.location)


_HL7_CHARSETS = ("UNICODE UTF-8", "8859/15", "8859/1", "")


@check(
    "hl7-message",
    title="HL7 v2 messages are readable IHE PAM France messages",
    description="Each message parses as ER7, MSH-12 declares version 2.5 and MSH-18 a character set the gateway "
    "reads (UNICODE UTF-8 or 8859/15; absent means ASCII).",
    source="IHE PAM France 2.11 (MSH segment)", verifies=["FMT-07"], group=FORMAT, kind="record", applies=["hl7v2"],
    fix="Send HL7 v2.5 messages (MSH-12 2.5^FRA^2.11) with MSH-18 UNICODE UTF-8 or 8859/15.",
)  # fmt: skip
def hl7_message(record: Record) -> Iterator[Message]:
    for issue in record.issues:
        if (issue.details_code or "").startswith("ADP-HL7"):
            yield Message(issue.diagnostics, ", ".join(issue.expression) or record.location)
    if record.scope is None:
        return
    version = record.scope.get("MSH-12.1")
    if version is None or version.value != "2.5":
        yield Message(f"MSH-12 is {version.value if version else 'empty'!r}, not 2.5", f"{record.location} MSH-12")
    charset = record.scope.get("MSH-18")
    if charset is not None and str(charset.value).upper() not in _HL7_CHARSETS:
        yield Message(f"MSH-18 {charset.value!r} is not UNICODE UTF-8 or 8859/15", f"{record.location} MSH-18")


@check(
    "fhir-bundle",
    title="FHIR exports are Bundles of agenda and care resources",
    description="The file is a JSON Bundle of type batch, transaction or collection; each entry holds a resource "
    "the gateway takes from an SI, and each Slot its SAS slot type.",
    source="FHIR R4 Bundle; adapters/fhir/bundle.py", verifies=["FMT-08"], group=FORMAT, kind="file",
    applies=["fhir"], fix="Send a batch, transaction or collection Bundle whose entries each carry a resource.",
)  # fmt: skip
def fhir_bundle(file: ExportFile) -> Iterator[Message]:
    yield from _file_error(file, ("ADP-FHIR-BUNDLE",))
    for location, text in file.facts.get("entry_problems", []):
        yield Message(text, location)


@check(
    "resources-valid",
    title="Resources are valid FHIR R4",
    description="Every resource sent, or derived by the gateway from a row or message, passes the gateway's FHIR R4 "
    "validation (types, cardinalities, required bindings, invariants).",
    source="FHIR R4 (4.0.1); gateway/fhir/validation.py", verifies=["FMT-09"], group=FORMAT, kind="record",
    fix="Correct the element the message names (a FHIRPath in the resource, or the cell it came from).",
)  # fmt: skip
def resources_valid(record: Record) -> Iterator[Message]:
    if record.scope is None and not record.resources:
        raise Omit("nothing to validate")
    for issue in record.issues:
        code = issue.details_code or ""
        if issue.severity in ("error", "fatal") and not code.startswith(("MAP-", "ADP-")):
            yield Message(issue.diagnostics, f"{record.location} {', '.join(issue.expression)}".strip())


__all__ = ["FORMAT"]
