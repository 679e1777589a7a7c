"""Step 1 of a session: spirometry with reference-equation z-scores, vitals, symptom scales and the eligibility decision."""
