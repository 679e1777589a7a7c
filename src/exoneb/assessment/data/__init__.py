"""Vendored GLI spirometry lookup tables (package data; see ``SOURCES.md``)."""
