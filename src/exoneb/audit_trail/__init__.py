"""The audit viewer: filter the audit trail, export it as CSV (the export is itself audited).

Writing audit rows is ``core.audit``'s job; this package only reads them, for
administrators and auditors.
"""
