"""The JSON report: the whole run, every message kept (up to the per-check cap) with its requirement ids."""

from __future__ import annotations

from typing import Any

import orjson

from conformance.inputs import public
from conformance.model import RunReport
from conformance.registry import short_ids
from conformance.reporters.summary import counts, lines, verdict


def as_dict(report: RunReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "started": report.started,
        "finished": report.finished,
        "target": report.target,
        "inputs": public(report.inputs),
        "verdict": verdict(report),
        "counts": counts(report.outcomes),
        "checks": [
            {
                "id": line.check.id,
                "short_id": short_ids().get(line.check.id),
                "group": line.check.group,
                "title": line.check.title,
                "result": line.outcome.result,
                "reason": line.outcome.reason,
                "requirements": [{"id": r.id, "conformance": r.conformance} for r in line.requirements],
                "checked": line.outcome.checked,
                "seconds": round(line.outcome.seconds, 4),
                "total_messages": line.outcome.total_messages,
                "messages": [m.to_json() for m in line.outcome.messages],
                "fix": line.check.fix,
            }
            for line in lines(report)
        ],
    }


def render(report: RunReport) -> str:
    return orjson.dumps(as_dict(report), option=orjson.OPT_INDENT_2).decode() + "\n"


__all__ = ["as_dict", "render"]
