"""Step 4 of a session: observations, alerts, adverse events and discharge."""
