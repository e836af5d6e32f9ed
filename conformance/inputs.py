"""A run's inputs: declared in ``conformance/inputs.yaml`` (meaning, default, secret), given as ``KEY=VALUE`` options
or a YAML file; an unknown key or a malformed value raises :class:`InputError` naming it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

FILE = Path(__file__).parent / "inputs.yaml"


class InputError(ValueError):
    """Inputs that cannot be used (unknown key, bad value, unreadable file)."""


@dataclass(frozen=True)
class InputSpec:
    name: str
    target: str
    meaning: str
    default: str | None
    secret: bool
    example: str
    choices: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def specs() -> dict[str, InputSpec]:
    data = yaml.safe_load(FILE.read_text(encoding="utf-8"))
    return {
        name: InputSpec(
            name,
            str(spec["target"]),
            " ".join(str(spec["meaning"]).split()),
            None if spec.get("default") is None else str(spec["default"]),
            bool(spec.get("secret", False)),
            str(spec.get("example", "")),
            tuple(str(c) for c in spec.get("choices", ())),
        )
        for name, spec in data["inputs"].items()
    }


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """``["practitioners=8...", "token=..."]`` → a dict; a pair without ``=`` is refused."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--input {pair!r}: expected KEY=VALUE")
        values[key.strip()] = value.strip()
    return values


def read_file(path: Path) -> dict[str, str]:
    """The inputs of a YAML file (a mapping of keys to scalars)."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the inputs file ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or any(isinstance(v, (dict, list)) for v in data.values()):
        raise InputError(f"{path}: the inputs file must map each key to one value")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def resolve(given: dict[str, str]) -> dict[str, str]:
    """The given inputs checked against the declarations, with the defaults filled in."""
    known = specs()
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InputError(f"unknown input {', '.join(unknown)} (known: {', '.join(known)})")
    values = {name: spec.default for name, spec in known.items() if spec.default is not None}
    values.update({k: v for k, v in given.items() if v != ""})
    for name, value in values.items():
        choices = known[name].choices
        if choices and value not in choices:
            raise InputError(f"input {name}={value!r}: expected one of {', '.join(choices)}")
    return values


def public(values: dict[str, str]) -> dict[str, str]:
    """The inputs as reports may show them (secrets masked)."""
    known = specs()
    return {k: ("***" if k in known and known[k].secret else v) for k, v in sorted(values.items())}


__all__ = ["FILE", "InputError", "InputSpec", "parse_pairs", "public", "read_file", "resolve", "specs"]
