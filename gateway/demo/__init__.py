"""Synthetic demo territory: a CPTS of Ille-et-Vilaine with its centres de santé, practitioners, patients,
agendas (slots and appointments) and care teams, as FHIR R4 JSON streamed with the owning tenant.

Use :func:`generate_territory` with :class:`DemoOptions`; everything is deterministic for given options.
"""

from gateway.demo.generator import generate_territory
from gateway.demo.identifiers import ins_is_valid, luhn_is_valid
from gateway.demo.options import DemoOptions, today_in

__all__ = ["DemoOptions", "generate_territory", "ins_is_valid", "luhn_is_valid", "today_in"]
