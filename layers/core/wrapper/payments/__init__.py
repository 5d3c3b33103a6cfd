"""Payments: the one port callers use to move money, its Stripe adapter, and webhook signatures."""
