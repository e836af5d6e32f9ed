"""The functions mapping files may name (transforms and conditions), registered in :mod:`mappings.registry`."""
