"""SearchParameter resources the gateway defines beyond FHIR R4 (the SAS `service-type-reference`, the capacity
searches' `address-city`, `address-postalcode` and `near` on Slot), shipped as data next to this module and served
read-only at ``GET /fhir/SearchParameter/{id}``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from gateway.errors import NotFound

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def search_parameters() -> dict[str, dict[str, Any]]:
    """id -> SearchParameter resource."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(HERE.glob("SearchParameter-*.json")):
        resource = orjson.loads(path.read_bytes())
        found[resource["id"]] = resource
    return found


def search_parameter(resource_id: str) -> dict[str, Any]:
    found = search_parameters().get(resource_id)
    if found is None:
        raise NotFound(f"SearchParameter/{resource_id} is not known", expression="SearchParameter")
    return found


def definition(resource_type: str, code: str) -> str | None:
    """The canonical URL of a shipped SearchParameter for ``resource_type`` and ``code``, if there is one."""
    for resource in search_parameters().values():
        if resource["code"] == code and resource_type in resource["base"]:
            return str(resource["url"])
    return None


__all__ = ["definition", "search_parameter", "search_parameters"]
