"""Patient registry, consent and the patient's prescribed respiratory care."""
