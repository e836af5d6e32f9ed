"""The HTML report for a project committee: one self-contained page (inline CSS, no script, no external asset) with
the verdict, a summary per area, and every failure with its requirement, location and how to fix it."""

from __future__ import annotations

from html import escape

from conformance.model import RESULTS, RunReport
from conformance.reporters.summary import by_group, counts, group_title, verdict

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .5em;
text-align:left;vertical-align:top}th{background:#f3f3f3}.pass{color:#17702e}.fail{color:#b00020;font-weight:bold}
.skip,.omit{color:#777}.error{color:#a15c00;font-weight:bold}.verdict{font-size:1.3em}code{font-size:.9em}"""


def _cell(text: object, cls: str = "") -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f"<td{attribute}>{escape(str(text))}</td>"


def render(report: RunReport) -> str:
    groups = by_group(report)
    judgement = verdict(report)
    target = report.target.get("url") or ", ".join(f["name"] for f in report.target.get("files", []))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>CPTS conformance — {escape(target)}</title><style>{CSS}</style></head><body>",
        "<h1>CPTS conformance report</h1>",
        f"<p>Target: <code>{escape(target)}</code> ({escape(str(report.target.get('kind')))}); run "
        f"<code>{escape(report.id)}</code>, {escape(report.started)} to {escape(report.finished)}.</p>",
        f'<p class="verdict {"pass" if judgement == "conforms" else "fail"}">The target {escape(judgement)}.</p>',
        "<h2>Summary per area</h2><table><tr><th>Area</th>" + "".join(f"<th>{r}</th>" for r in RESULTS) + "</tr>",
    ]
    for group_id, group_lines in groups.items():
        tally = counts([line.outcome for line in group_lines])
        out.append(
            "<tr>"
            + _cell(group_title(group_id))
            + "".join(_cell(tally[r], r if tally[r] else "") for r in RESULTS)
            + "</tr>"
        )
    out.append("</table><h2>Failures</h2>")
    failures = [line for lines in groups.values() for line in lines if line.outcome.result in ("fail", "error")]
    if not failures:
        out.append("<p>None.</p>")
    for line in failures:
        o = line.outcome
        reqs = "; ".join(f"{r.id} ({r.conformance}): {r.text}" for r in line.requirements)
        out.append(f'<h3 class="{o.result}">{escape(o.check)} — {escape(line.check.title)}</h3>')
        out.append(f"<p><b>Requirement:</b> {escape(reqs)}<br><b>Source:</b> {escape(line.check.source)}<br>"
                   f"<b>How to fix:</b> {escape(line.check.fix)}</p>")  # fmt: skip
        if o.result == "error":
            out.append(f"<p>The check could not run: {escape(o.reason or '')}</p>")
            continue
        out.append("<table><tr><th>Location</th><th>Problem</th></tr>")
        out.extend("<tr>" + _cell(m.location or "-") + _cell(m.text) + "</tr>" for m in o.messages)
        out.append("</table>")
        if o.total_messages > len(o.messages):
            out.append(f"<p>… and {o.total_messages - len(o.messages)} more of the same check.</p>")
    out.append("<h2>Every check</h2><table><tr><th>Area</th><th>Check</th><th>Requirements</th><th>Result</th></tr>")
    for group_id, group_lines in groups.items():
        for line in group_lines:
            o = line.outcome
            note = f" ({o.reason})" if o.reason and o.result != "pass" else ""
            out.append(
                "<tr>"
                + _cell(group_title(group_id))
                + _cell(f"{o.check}: {line.check.title}")
                + _cell(" ".join(r.id for r in line.requirements))
                + _cell(o.result + note, o.result)
                + "</tr>"
            )
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


__all__ = ["render"]
