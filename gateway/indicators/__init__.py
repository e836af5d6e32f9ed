"""Activity indicators: their definitions as data (mappings/measures/) and their FHIR Measures."""
