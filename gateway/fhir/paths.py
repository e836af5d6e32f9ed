"""Simple element paths over FHIR JSON (``name.given``, ``occurrence[x]``, ``extension(URL).value[x]``).

Deliberately not FHIRPath: search parameter paths only navigate, they never compute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_STEP = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)(?P<choice>\[x\])?(?:\((?P<arg>[^()]+)\))?$")


@dataclass(frozen=True)
class Step:
    name: str
    choice: bool = False
    extension_url: str | None = None


def _split(path: str) -> list[str]:
    parts: list[str] = []
    depth, current = 0, ""
    for char in path:
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    parts.append(current)
    return parts


@lru_cache(maxsize=512)
def compile_path(path: str) -> tuple[Step, ...]:
    """Parse a path; raises ValueError naming the bad step."""
    steps: list[Step] = []
    for part in _split(path):
        match = _STEP.match(part)
        if not match:
            raise ValueError(f"bad path step {part!r} in {path!r}")
        arg = match["arg"]
        if arg is not None and match["name"] != "extension":
            raise ValueError(f"only extension(URL) takes an argument, in path {path!r}")
        steps.append(Step(match["name"], bool(match["choice"]), arg))
    return tuple(steps)


def _children(node: Any, step: Step) -> Iterator[Any]:
    if not isinstance(node, dict):
        return
    if step.choice:
        prefix = step.name
        values = [v for k, v in node.items() if k.startswith(prefix) and k[len(prefix) : len(prefix) + 1].isupper()]
    else:
        values = [node[step.name]] if step.name in node else []
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if step.extension_url is not None and not (
                isinstance(item, dict) and item.get("url") == step.extension_url
            ):
                continue
            yield item


def _plain_step(nodes: list[Any], name: str) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, dict) and name in node:
            value = node[name]
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
    return out


def evaluate(resource: dict[str, Any], path: str) -> list[Any]:
    """Every value the path reaches from the resource root (lists are flattened)."""
    steps = compile_path(path)
    first = steps[0]
    if not first.choice and first.name not in resource:
        return []
    nodes: list[Any] = [resource]
    for step in steps:
        if step.choice or step.extension_url is not None:
            nodes = [child for node in nodes for child in _children(node, step)]
        else:
            nodes = _plain_step(nodes, step.name)
        if not nodes:
            break
    return nodes


__all__ = ["Step", "compile_path", "evaluate"]
