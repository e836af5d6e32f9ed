"""Pathway transforms: the dated activities of an enrolment, laid out from its protocol (gateway/pathways/)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mappings.registry import MapContext, transform

PROTOCOL_TABLE = Path(__file__).resolve().parents[1] / "codes" / "csv-pathway-protocol.yaml"
# the enrolment's status (csv-careplan-status words) -> the status of its planned activities
ACTIVITY_STATUS = {"actif": "not-started", "brouillon": "not-started", "suspendu": "on-hold"}


@lru_cache(maxsize=1)
def _protocols() -> dict[str, dict[str, Any]]:
    """Code of the export (upper case) -> the protocol's PlanDefinition, through the csv-pathway-protocol table."""
    from gateway.pathways.loader import read_protocols

    by_url = {str(p["url"]): p for p in read_protocols()}
    table = yaml.safe_load(PROTOCOL_TABLE.read_text(encoding="utf-8"))
    return {str(code).upper(): by_url[url] for code, url in table["map"].items() if url in by_url}


@transform("pathway_activities")
def pathway_activities(value: Any, _ctx: MapContext) -> list[dict[str, Any]] | None:
    """``{protocol, start, end, status}`` → the CarePlan's activities, one per occurrence of each step, with their
    planned dates (gateway/pathways/schedule.py); none for an unknown protocol (its code is reported by the
    instantiatesCanonical rule)."""
    from gateway.pathways.schedule import plan_activities

    if not isinstance(value, dict) or not isinstance(value.get("start"), date):
        return None
    protocol = _protocols().get(str(value.get("protocol") or "").strip().upper())
    if protocol is None:
        return None
    end = value.get("end") if isinstance(value.get("end"), date) else None
    status = ACTIVITY_STATUS.get(str(value.get("status") or "").strip().lower(), "stopped")
    return plan_activities(protocol, value["start"], end=end, status=status) or None


__all__ = ["pathway_activities"]
