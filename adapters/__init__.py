"""Parsers for what centre software exports (HL7 v2.5, CSV dialects, FHIR bundles) into neutral source documents.

Filled in by Step 2 (adapters and mappings).
"""
