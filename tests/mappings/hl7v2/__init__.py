"""HL7 v2 mapping tests (a package, so that its module names do not clash with the CSV mapping tests)."""
