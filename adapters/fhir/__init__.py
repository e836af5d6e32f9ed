"""FHIR R4 Bundles (batch, transaction, collection) of GAP / FR Core agenda resources sent by SIs that speak FHIR."""

from adapters.fhir.bundle import ACCEPTED_TYPES, BundleError, read_bundle

__all__ = ["ACCEPTED_TYPES", "BundleError", "read_bundle"]
