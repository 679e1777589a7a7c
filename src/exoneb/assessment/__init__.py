"""Step 1 of a session: assessment of respiratory health.

Spirometry with reference-equation z-scores, vitals, symptom scales and the
eligibility decision.
"""
