"""The console report: one line per check, grouped by area, then the failures with their locations."""

from __future__ import annotations

from conformance.model import RunReport
from conformance.registry import short_ids
from conformance.reporters.summary import by_group, counts, group_title, verdict

SHOWN = 10  # messages printed per failing check (every one is in the JSON and HTML reports)
MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "omit": "omit", "error": "ERROR"}


def render(report: RunReport) -> str:
    out: list[str] = [f"Conformance run {report.id} ({report.target.get('kind')})"]
    for group_id, group_lines in by_group(report).items():
        tally = counts([line.outcome for line in group_lines])
        summary = ", ".join(f"{n} {r}" for r, n in tally.items() if n)
        out.append(f"\n{group_title(group_id)}: {summary}")
        for line in group_lines:
            o = line.outcome
            reqs = " ".join(r.id for r in line.requirements)
            extra = f" — {o.reason}" if o.reason and o.result in ("skip", "error") else ""
            short = short_ids().get(o.check, "")
            out.append(f"  {MARK[o.result]:5} {short:5} {o.check:24} [{reqs}] {line.check.title}{extra}")
            if o.result == "fail":
                for message in o.messages[:SHOWN]:
                    out.append(f"          {message.location or '-'}: {message.text}")
                if o.total_messages > SHOWN:
                    out.append(f"          ... {o.total_messages - SHOWN} more")
                out.append(f"          fix: {line.check.fix}")
    total = counts(report.outcomes)
    out.append("\n" + ", ".join(f"{n} {r}" for r, n in total.items()) + f" — the target {verdict(report)}")
    return "\n".join(out) + "\n"


__all__ = ["render"]
