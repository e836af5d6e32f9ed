"""The FHIR TestReport of a run (R4): one ``test`` per check, one ``assert`` per message (or one for the result).

Results map onto TestReport's codes: pass, fail, error as such; skip and omit become ``skip`` with the reason. The
report's ``result`` is ``pass`` when the target conforms (no SHALL requirement broken), else ``fail``; ``score`` is
the share of passed checks among those that passed or failed.
"""

from __future__ import annotations

from typing import Any

import orjson

from conformance.model import RunReport
from conformance.reporters.summary import counts, lines
from conformance.runner import conforms

SYSTEM = "urn:cpts-gateway:conformance-run"
SHOWN = 50  # asserts per test


def _asserts(line: Any) -> list[dict[str, Any]]:
    o = line.outcome
    if o.result == "fail":
        found = [
            {"assert": {"result": "fail", "message": f"{m.location or '-'}: {m.text}", "detail": line.check.fix}}
            for m in o.messages[:SHOWN]
        ]
        if o.total_messages > SHOWN:
            found.append({"assert": {"result": "fail", "message": f"{o.total_messages - SHOWN} more problem(s)"}})
        return found
    if o.result == "pass":
        return [{"assert": {"result": "pass", "message": f"{o.checked} item(s) checked"}}]
    result = "error" if o.result == "error" else "skip"
    return [{"assert": {"result": result, "message": f"{o.result}: {o.reason or ''}".strip()}}]


def as_resource(report: RunReport) -> dict[str, Any]:
    tally = counts(report.outcomes)
    judged = tally["pass"] + tally["fail"]
    target = report.target.get("url") or ", ".join(f["name"] for f in report.target.get("files", [])) or "exports"
    participant_uri = report.target["url"] if report.target.get("url") else f"urn:cpts-gateway:export:{report.id}"
    return {
        "resourceType": "TestReport",
        "id": report.id,
        "identifier": {"system": SYSTEM, "value": report.id},
        "name": f"CPTS conformance of {target}"[:200],
        "status": "completed",
        "testScript": {"display": "cpts-gateway conformance suite (conformance/requirements)"},
        "result": "pass" if conforms(report) else "fail",
        "score": round(tally["pass"] / judged * 100, 2) if judged else 100,
        "tester": "cpts-gateway conformance",
        "issued": report.finished,
        "participant": [
            {"type": "server" if report.target.get("kind") == "endpoint" else "client", "uri": participant_uri},
            {"type": "test-engine", "uri": "urn:cpts-gateway:conformance"},
        ],
        "test": [
            {
                "name": f"{line.check.id}: {line.check.title}",
                "description": f"{line.check.description} Verifies {', '.join(r.id for r in line.requirements)} "
                f"({line.check.source}).",
                "action": _asserts(line),
            }
            for line in lines(report)
        ],
    }


def render(report: RunReport) -> str:
    return orjson.dumps(as_resource(report), option=orjson.OPT_INDENT_2).decode() + "\n"


__all__ = ["SYSTEM", "as_resource", "render"]
