"""Staff accounts, roles and permissions, login sessions and e-signatures."""
