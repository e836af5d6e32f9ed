"""Reports of one run: console, JSON, JUnit XML, FHIR TestReport, self-contained HTML.

``render(report, format)`` returns the text; ``FILES`` names the file each format writes into ``--out``.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.model import RunReport
from conformance.reporters import console, html, json, junit, testreport

RENDERERS: dict[str, Callable[[RunReport], str]] = {
    "console": console.render,
    "json": json.render,
    "junit": junit.render,
    "testreport": testreport.render,
    "html": html.render,
}
FILES = {
    "console": "conformance.txt",
    "json": "conformance.json",
    "junit": "conformance-junit.xml",
    "testreport": "TestReport.json",
    "html": "conformance.html",
}


def render(report: RunReport, format: str) -> str:
    return RENDERERS[format](report)


__all__ = ["FILES", "RENDERERS", "render"]
