"""Billing: money in minor units, prices, periods and proration, and the daily billing run that closes
subscription periods (renewals, scheduled changes, cancellations, trial ends); invoices come later."""
