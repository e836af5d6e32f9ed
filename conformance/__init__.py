"""The conformance suite integrators run against their SI's exports and endpoints (Step 7)."""
