"""Security: the principal behind every request; OAuth2, roles, tenant isolation, consent, audit and crypto (Step 3)."""
