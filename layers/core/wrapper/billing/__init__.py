"""Billing runs: turning usage into invoices (the engine arrives with the billing-runs issue)."""
