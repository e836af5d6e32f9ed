"""cpts-gateway: interoperability gateway between health centres' information systems and their CPTS.

The ``gateway`` package holds the FastAPI application, settings, the versioned FHIR store, the FHIR REST API,
the demo territory and the command line.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
