"""Protocol files read and checked at start-up, then published to the store as CPTS-level PlanDefinitions.

``read_protocols`` runs when the application is built: a bad file (YAML, schema, FHIR validation) raises a
``MappingFileError`` naming the file and the field, and the gateway does not start. ``publish_protocols`` runs in the
lifespan after the migrations: an upsert per protocol with no tenant (owned by the CPTS, readable by every centre), so
an unchanged file makes no new version and a changed one makes the next.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import Engine

import mappings
from gateway.errors import ValidationFailed
from gateway.fhir.validation import validate_resource
from gateway.pathways.protocols import Protocol, plan_definition
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import Outcome, WriteItem, build_store
from mappings.issues import MappingFileError

PROTOCOLS_DIR = Path(mappings.__file__).parent / "protocols"
log = logging.getLogger("cpts.pathways")


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def read_protocol(path: Path) -> dict[str, Any]:
    """One protocol file as a validated PlanDefinition; MappingFileError names the file and the field."""
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingFileError(name, "", f"not a readable YAML file ({exc})") from exc
    try:
        protocol = Protocol.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise MappingFileError(name, _field_path(error["loc"]), error["msg"]) from exc
    problems = protocol.link_problems()
    if problems:
        raise MappingFileError(name, *problems[0])
    if protocol.id != path.stem:
        raise MappingFileError(name, "id", f"the id {protocol.id!r} must be the file's name ({path.stem!r})")
    resource = plan_definition(protocol)
    try:
        validate_resource(resource, expected_type="PlanDefinition")
    except ValidationFailed as exc:
        issue = exc.issues[0]
        raise MappingFileError(name, issue.expression[0] if issue.expression else "", issue.diagnostics) from exc
    return resource


def read_protocols(directory: Path | None = None) -> tuple[dict[str, Any], ...]:
    """Every ``<id>.yaml`` of the directory (default ``mappings/protocols``) as PlanDefinitions, by id."""
    root = directory or PROTOCOLS_DIR
    if not root.is_dir():
        raise MappingFileError(str(root), "", "the protocols directory does not exist")
    return tuple(read_protocol(path) for path in sorted(root.glob("*.yaml")))


def publish_protocols(engine: Engine, settings: Settings, resources: Sequence[dict[str, Any]]) -> dict[Outcome, int]:
    """Upsert the PlanDefinitions as CPTS-level resources (no tenant); returns the count per outcome.

    A centre's own resource under the same id is not taken over: the write is refused and start-up stops.
    """
    store = build_store(engine, settings)
    items = [
        WriteItem("PlanDefinition", r["id"], r, tenant=None, owners=frozenset({None}), method="PUT") for r in resources
    ]
    counts: dict[Outcome, int] = {}
    with write_transaction(engine) as conn:
        for outcome in store.write(conn, items):
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    log.info("protocols published", extra={"counts": counts})
    return counts


__all__ = ["PROTOCOLS_DIR", "publish_protocols", "read_protocol", "read_protocols"]
