"""Shared plumbing: configuration, database engine and transactions, the hash-chained
audit log, error types and the injected clock."""
