"""Small-count masking of indicator MeasureReports (architecture §6, §7.4, §8), applied on the way out.

A *cell* is one population count: of a group (``stratifier`` None) or of one stratum of one stratifier. Three rules,
applied in this order, decide which cells leave without their count:

1. **primary**: a count from 1 to ``max_count`` is masked; zero is not (it singles no one out);
2. **difference**: a count is masked when what it adds to the counts the viewer already sees of one of its
   ``partitions`` (the centre reports a CPTS-wide report sums; the monthly or quarterly reports of the same subject a
   longer period sums; each as the viewer receives them) is from 1 to ``max_count``: the CPTS total minus the visible
   centre totals, or the quarter minus the visible months, would otherwise give the masked counts back;
3. **complement**: the strata of a stratifier add up to the group's count, so in each (group, population,
   stratifier) either no cell or at least two cells are masked: a lone masked cell takes with it the smallest shown
   non-zero stratum (or the group count when no stratum is left), and so on until no lone cell remains.

A masked cell loses ``count`` and gains the data-absent-reason extension ``masked``; the measureScore of a group or
stratum with any masked population is removed (the score and the other count would give it back). Patient-level
elements (``evaluatedResource``, ``subjectResults``, ``contained``) never leave.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
MASKED = {"url": DATA_ABSENT_REASON, "valueCode": "masked"}
PATIENT_LEVEL = ("evaluatedResource", "subjectResults", "contained")

# (group key, stratifier key or None, stratum key or None, population key)
Cell = tuple[str, str | None, str | None, str]


def _code(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return f"{coding.get('system', '')}|{coding['code']}"
    return str(concept.get("text", ""))


def _group_key(group: dict[str, Any], index: int) -> str:
    return str(group.get("id") or _code(group.get("code")) or index)


def _population_keys(populations: list[Any]) -> list[str]:
    """The population codes, a repeated one numbered (a ratio's second initial population: ``...-2``)."""
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for population in populations:
        code = _code(population.get("code")) if isinstance(population, dict) else ""
        seen[code] += 1
        keys.append(code if seen[code] == 1 else f"{code}-{seen[code]}")
    return keys


def _stratum_key(stratum: dict[str, Any]) -> str:
    if "value" in stratum:
        return _code(stratum["value"])
    return "&".join(f"{_code(c.get('code'))}={_code(c.get('value'))}" for c in stratum.get("component") or [])


def _walk(report: dict[str, Any]) -> Iterator[tuple[Cell, dict[str, Any], dict[str, Any]]]:
    """Every population of the report as (cell, population, its owner: the group or the stratum)."""
    for g, group in enumerate(report.get("group") or []):
        gkey = _group_key(group, g)
        populations = group.get("population") or []
        for pkey, population in zip(_population_keys(populations), populations, strict=True):
            yield (gkey, None, None, pkey), population, group
        for s, stratifier in enumerate(group.get("stratifier") or []):
            codes = stratifier.get("code") or []
            skey = (_code(codes[0]) if codes else "") or str(s)
            for stratum in stratifier.get("stratum") or []:
                vkey = _stratum_key(stratum)
                populations = stratum.get("population") or []
                for pkey, population in zip(_population_keys(populations), populations, strict=True):
                    yield (gkey, skey, vkey, pkey), population, stratum


def counts(report: dict[str, Any]) -> dict[Cell, int | None]:
    """Each cell's count as a viewer of ``report`` sees it (None: masked or absent)."""
    found: dict[Cell, int | None] = {}
    for cell, population, _owner in _walk(report):
        count = population.get("count")
        found[cell] = count if isinstance(count, int) and not isinstance(count, bool) else None
    return found


def _complement(values: dict[Cell, int | None], masked: set[Cell]) -> None:
    """Rule 3: no (group, population, stratifier) with exactly one masked cell."""
    tables: dict[tuple[str, str, str], list[Cell]] = defaultdict(list)
    for cell in values:
        group, stratifier, _stratum, population = cell
        if stratifier is not None:
            tables[(group, population, stratifier)].append(cell)
    changed = True
    while changed:
        changed = False
        for (group, population, _stratifier), strata in sorted(tables.items()):
            total: Cell = (group, None, None, population)
            cells = [total, *strata] if total in values else strata
            lone = [c for c in cells if c in masked]
            if len(lone) != 1:
                continue
            shown = [c for c in strata if c not in masked and (values[c] or 0) > 0]
            if shown:
                masked.add(min(shown, key=lambda c: (values[c] or 0, c[2] or "")))
            elif total in values and total not in masked and (values[total] or 0) > 0:
                masked.add(total)
            else:
                continue
            changed = True


def _sums(parts: Sequence[dict[str, Any]]) -> dict[Cell, int]:
    seen: dict[Cell, int] = defaultdict(int)
    for part in parts:
        for cell, value in counts(part).items():
            seen[cell] += value or 0
    return seen


def masked_cells(
    report: dict[str, Any], max_count: int, partitions: Sequence[Sequence[dict[str, Any]]] = ()
) -> set[Cell]:
    """The cells of ``report`` that must leave without their count (rules 1-3 above). Each of ``partitions`` is a set
    of reports, as the viewer receives them, that add up to ``report`` (its centres; its months)."""
    values = counts(report)
    if max_count <= 0:
        return set()
    sums = [_sums(parts) for parts in partitions]
    masked: set[Cell] = set()
    for cell, value in values.items():
        if value is None:
            continue
        if 1 <= value <= max_count or any(1 <= value - seen[cell] <= max_count for seen in sums):
            masked.add(cell)
    _complement(values, masked)
    return masked


def mask_report(
    report: dict[str, Any], max_count: int, partitions: Sequence[Sequence[dict[str, Any]]] = ()
) -> dict[str, Any]:
    """A copy of ``report`` as a viewer who may not single out a patient receives it (the input is left as is)."""
    out = copy.deepcopy(report)
    for key in PATIENT_LEVEL:
        out.pop(key, None)
    hidden = masked_cells(out, max_count, partitions)
    for cell, population, owner in _walk(out):
        population.pop("subjectResults", None)
        if cell in hidden and "count" in population:
            del population["count"]
            extensions = [e for e in population.get("extension") or [] if e.get("url") != DATA_ABSENT_REASON]
            population["extension"] = [*extensions, dict(MASKED)]
            owner.pop("measureScore", None)
    return out


def is_masked(population: dict[str, Any]) -> bool:
    return any(e.get("url") == DATA_ABSENT_REASON for e in population.get("extension") or [])


__all__ = ["DATA_ABSENT_REASON", "MASKED", "Cell", "counts", "is_masked", "mask_report", "masked_cells"]
