"""The JUnit XML report (for CI): one testsuite per area, one testcase per check; skip and omit are skipped."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from conformance.model import RunReport
from conformance.reporters.summary import by_group, counts, group_title


def render(report: RunReport) -> str:
    root = ET.Element("testsuites", name=f"cpts-gateway conformance {report.id}")
    for group_id, group_lines in by_group(report).items():
        tally = counts([line.outcome for line in group_lines])
        suite = ET.SubElement(
            root, "testsuite", name=group_title(group_id), tests=str(len(group_lines)),
            failures=str(tally["fail"]), errors=str(tally["error"]), skipped=str(tally["skip"] + tally["omit"]),
        )  # fmt: skip
        for line in group_lines:
            o = line.outcome
            case = ET.SubElement(
                suite, "testcase", classname=f"conformance.{group_id}", name=f"{o.check} {line.check.title}",
                time=f"{o.seconds:.4f}",
            )  # fmt: skip
            requirements = " ".join(r.id for r in line.requirements)
            if o.result == "fail":
                text = "\n".join(f"{m.location or '-'}: {m.text}" for m in o.messages)
                failure = ET.SubElement(
                    case, "failure", message=f"{o.total_messages} problem(s); verifies {requirements}"
                )
                failure.text = f"{text}\nfix: {line.check.fix}"
            elif o.result == "error":
                ET.SubElement(case, "error", message=o.reason or "error")
            elif o.result in ("skip", "omit"):
                ET.SubElement(case, "skipped", message=f"{o.result}: {o.reason or ''}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


__all__ = ["render"]
