"""``_include`` from the capacity directory (gateway/capacity/includes.py): the targets of a resource with a stable
key are kept by the directory, and give the same includes as computing them afresh."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from gateway.capacity.directory import Directory
from gateway.capacity.includes import directory_includes
from gateway.fhir.query import parse_search
from gateway.fhir.search import Visibility
from gateway.storage.store import StoredResource

INCLUDES = [("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor")]


def _stored(resource: dict[str, Any]) -> StoredResource:
    return StoredResource(resource["resourceType"], resource["id"], 1, datetime(2030, 1, 1), False, None,
                          orjson.dumps(resource).decode())  # fmt: skip


def _directory(actor: str) -> Directory:
    directory = Directory(stamp=(1,))
    for resource in (
        {"resourceType": "Schedule", "id": "sch", "actor": [{"reference": actor}]},
        {"resourceType": "Practitioner", "id": "p1"},
        {"resourceType": "Practitioner", "id": "p2"},
    ):
        directory.resources[(resource["resourceType"], resource["id"])] = _stored(resource)
    return directory


def _included(directory: Directory, links: str, kept: bool) -> list[str]:
    includes = parse_search("Slot", INCLUDES, strict=True, default_count=10, max_count=10).includes
    frontier = [("Slot", orjson.loads(links), ("links", links) if kept else None)]
    return [f"{s.resource_type}/{s.id}" for s in directory_includes(directory, frontier, includes, Visibility())]


def test_kept_targets_give_the_includes_computed_afresh() -> None:
    links = '{"schedule":{"reference":"Schedule/sch"}}'
    directory = _directory("Practitioner/p1")

    def kept() -> set[Any]:
        return {key[1] for key in directory.memo if isinstance(key, tuple) and key[0] == "targets"}

    assert _included(directory, links, kept=False) == ["Schedule/sch", "Practitioner/p1"]
    assert kept() == {("Schedule", "sch")}  # a directory resource: always kept; a Slot without a key: never
    assert _included(directory, links, kept=True) == ["Schedule/sch", "Practitioner/p1"]
    assert kept() == {("links", links), ("Schedule", "sch")}
    assert _included(directory, links, kept=True) == ["Schedule/sch", "Practitioner/p1"]  # from the memo
    # a new directory (a Schedule changed) keeps nothing of the old one's answers
    assert _included(_directory("Practitioner/p2"), links, kept=True) == ["Schedule/sch", "Practitioner/p2"]
