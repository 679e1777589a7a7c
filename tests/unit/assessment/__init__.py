"""Unit tests of step 1, the assessment of respiratory health."""
