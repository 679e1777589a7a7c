"""Step 2 of a session: product lots, dose preparation and the second-person check."""
