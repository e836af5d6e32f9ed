"""FHIR R4 Subscriptions (rest-hook): criteria, the outbox of notifications, and the leased delivery worker.

See docs/pathways.md (Subscriptions) for the contract: who may subscribe, what a notification carries, retries.
"""
