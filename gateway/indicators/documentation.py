"""The definitions table of ``docs/indicators.md``, generated from the YAML files (a test keeps the page in step)."""

from __future__ import annotations

from gateway.indicators.definitions import MeasureDefinition

BEGIN = "<!-- indicators table: generated from mappings/measures/ by gateway.indicators.documentation -->"
END = "<!-- end of the indicators table -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _populations(definition: MeasureDefinition) -> str:
    groups = []
    for group in definition.groups:
        codes = ", ".join(dict.fromkeys(p.code for p in group.populations))
        strata = ", ".join(s.key for s in group.stratifiers) or "none"
        groups.append(f"`{group.key}`: {codes}; strata: {strata}")
    return "<br>".join(groups)


def definitions_table(definitions: list[MeasureDefinition]) -> str:
    """A Markdown table: one row per indicator, between the BEGIN and END markers."""
    lines = [
        BEGIN,
        "| id | title (fr / en) | scoring | better | unit | audience | groups: populations; strata |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in definitions:
        lines.append(
            f"| {d.id} | {_cell(d.title.fr)} / {_cell(d.title.en)} | {d.scoring} | {d.improvement} | "
            f"{d.unit or '—'} | {', '.join(d.audience)} | {_populations(d)} |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


__all__ = ["BEGIN", "END", "definitions_table"]
