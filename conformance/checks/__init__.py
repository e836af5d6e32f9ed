"""The suite's checks, one module per area; importing this package registers them all, in this order."""

from conformance.checks import agenda, format, gap, identity, pathways, sas, terminology, timezones

AREAS = (format, identity, agenda, timezones, terminology, pathways, sas, gap)

__all__ = ["AREAS"]
