"""The audit trail: one entry per security-relevant event, written by the audit consumer."""
