"""Protocol files: eligibility rules, dose levels and thresholds, versioned as data."""
