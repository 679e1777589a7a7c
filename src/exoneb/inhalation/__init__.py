"""Step 3 of a session: the nebulizer run and this patient's estimated lung dose."""
