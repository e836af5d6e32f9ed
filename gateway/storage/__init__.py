"""Versioned FHIR storage: table models, engine, migrations, the resource store and its search indexes."""
