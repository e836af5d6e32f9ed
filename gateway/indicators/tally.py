"""Additive tallies of one indicator group: population counts, observation sums and samples, overall and per stratum.

The engine computes one tally per centre; the CPTS-wide tally is their sum (:func:`merged`), so the CPTS report is the
sum of the centres' by construction. Medians keep their samples (one per agenda or referral: small).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

StratumKey = tuple[str, str]  # (stratifier key, value key)


@dataclass
class Cell:
    """One population set: counts per population key, observation sums, observation samples."""

    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, counts: Mapping[str, int], sums: Mapping[str, float], samples: Mapping[str, float]) -> None:
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        for key, value in sums.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        for key, value in samples.items():
            self.samples.setdefault(key, []).append(value)

    def merge(self, other: Cell) -> None:
        self.add(other.counts, other.sums, {})
        for key, values in other.samples.items():
            self.samples.setdefault(key, []).extend(values)


@dataclass
class GroupTally:
    total: Cell = field(default_factory=Cell)
    strata: dict[str, dict[str, Cell]] = field(default_factory=dict)  # stratifier key -> value key -> cell

    def add(
        self,
        strata: Mapping[str, str],
        counts: Mapping[str, int],
        sums: Mapping[str, float] | None = None,
        samples: Mapping[str, float] | None = None,
    ) -> None:
        """Count one member (or a GROUP BY row of members) overall and in its stratum of each stratifier."""
        sums, samples = sums or {}, samples or {}
        self.total.add(counts, sums, samples)
        for stratifier, value in strata.items():
            self.strata.setdefault(stratifier, {}).setdefault(value, Cell()).add(counts, sums, samples)

    def merge(self, other: GroupTally) -> None:
        self.total.merge(other.total)
        for stratifier, cells in other.strata.items():
            mine = self.strata.setdefault(stratifier, {})
            for value, cell in cells.items():
                mine.setdefault(value, Cell()).merge(cell)


Tally = dict[str, GroupTally]  # group key -> tally


def new_tally(groups: Iterable[str]) -> Tally:
    return {key: GroupTally() for key in groups}


def merged(tallies: Iterable[Tally], groups: Iterable[str]) -> Tally:
    out = new_tally(groups)
    for tally in tallies:
        for key, group in tally.items():
            out[key].merge(group)
    return out


__all__ = ["Cell", "GroupTally", "StratumKey", "Tally", "merged", "new_tally"]
