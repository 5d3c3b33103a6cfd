"""The prepaid credit wallet: one per tenant.

- **Grants** add credits: bought through Stripe (``POST /v1/credits/top-ups``) or given by the
  platform operator. Each has a priority (lower is spent first), an optional expiry, and its
  remaining amount.
- **Consumption**: a usage event whose meter a plan prices in credits (``credit_rate`` on the
  plan's metered entitlement, count and sum meters) takes ``value * rate`` credits in the
  event's own transaction, so it is charged exactly when it is counted: once.
- **Spending order**: the lowest priority number first, then the grant expiring first (a grant
  without expiry last), then the oldest.
- **Overdraft**: the plan's ``credit_overdraft`` lets the balance go that far below zero. What
  neither the grants nor the overdraft cover is not taken: the usage is still counted, and billed
  as usage.
- **Expiry**: a grant whose expiry has passed leaves the wallet with an ``expiry`` entry, on the
  next write to the wallet or the next read of it.
- **Ledger**: every movement is an entry with its signed amount and the balance after it. Each
  write puts the wallet and its entries in one transaction, conditioned on the wallet's version,
  so the balance always equals the sum of the ledger.

Items live in the ``TENANT#<t>#CREDITS`` partition:
- ``WALLET``: version, balance, debt, and the active grants' remaining amounts.
- ``GRANT#<id>``: what was granted, with its source and reference.
- ``LEDGER#<ulid>``: the movements, time-ordered.
"""
