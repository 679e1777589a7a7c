"""Session and patient reports, plots, CSV and FHIR R4 export."""
