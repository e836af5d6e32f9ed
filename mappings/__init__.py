"""Declarative mappings (YAML data) from source documents to FHIR R4 resources, code tables and Measure definitions.

Filled in by Step 2 (adapters and mappings) and Step 6 (indicators).
"""
