"""Coordinated care pathways of the CPTS: protocols (PlanDefinition), loaded from data at start-up."""
