"""A tenant's subscription: Wrapper owns it (plans, periods, proration); Stripe holds cards and moves money.

Decisions (where the issue is silent):

- **Every tenant has a subscription.** A tenant without a ``SUBSCRIPTION`` item is put on the catalog's
  default plan on first access (a conditional put, with ``subscription.created``): monthly, its USD price
  if it has one, anchored at that instant in the tenant's PROFILE timezone. No payment step.
- **Subscribe** (``POST /v1/subscriptions``) starts a plan with a *new* period from now and charges the
  first period in full (minus the coupon). It is for a tenant on the default plan (or a free one); a tenant
  already paying changes plan with ``PATCH /v1/subscriptions/current`` (409 otherwise). The replaced
  subscription ends in the history as ``canceled``.
- **Trials**: a plan with ``trial_days`` starts ``trialing`` with no charge; the period runs to the trial
  end, which becomes the anchor. Changes during a trial apply at once, unbilled. Charging at the trial end
  and the ``trial.ending`` event (three days before) belong to the billing run (``renewal``).
- **Changes** follow ``wrapper.money.proration.preview_change`` on the period the anchor gives *now*:
  a higher per-period amount (plan, more seats of a per-unit price, add-ons included) applies now and
  charges the prorated difference; a lower one (downgrade, fewer seats) is stored as ``scheduled_change``
  for the period end; month → year applies now (credit for the unused month, the full year charged,
  new anchor). A switch whose amount due would be negative (year → month) is scheduled for the period end
  instead, because Wrapper keeps no credit balance yet. Upgrading from a free plan keeps the anchor: the
  rest of the current period is charged prorated. Asking for the current terms again cancels a scheduled
  change. ``apply_scheduled_changes(tenant, now)`` applies what is due; the billing run calls it.
- **Paying**: the amount due is charged off-session on the saved card (idempotency key from the
  subscription id, its version, the target and the card). No card, a decline, or a card that needs 3-D
  Secure → 402 problem+json with ``checkout_url`` (a Checkout Session in payment mode for exactly that
  amount); the change waits in ``CHECKOUT#<session>`` and applies when the webhook reports the payment
  (``stripe_events.apply_stripe_event``). If the subscription changed meanwhile, the payment is refunded.
  If a change loses a race after its charge, the charge is refunded and the answer is 409.
- **Coupons**: validated on subscribe (active, not expired, redemptions left, the tenant's first use;
  amount-off coupons in the subscription's currency) and redeemed in the same transaction as the
  subscription: a conditional ADD on the coupon item's top-level ``times_redeemed``. The discount applies
  to every positive amount due while the coupon covers the period (``periods_left`` counts the current
  period: once = 1, repeating = N, forever = null); percent-off is rounded once, half away from zero;
  amount-off never exceeds the amount. Counting periods down at renewal is the billing run's (``renewal``).
- **Period ends** (``renewal.PeriodEnds``, called by the billing run): cancel at period end, apply the
  scheduled change, roll the period forward from the anchor and charge the renewal, once per period.
- **Cancel** at period end sets ``cancel_at_period_end`` (resume clears it); the billing run ends it.
  Cancel now ends it at once with no refund for unused time, and the tenant returns to the default plan.
  The default plan itself cannot be canceled.
- **Statuses**: ``incomplete`` is not used (a subscribe waiting for Checkout keeps the old subscription
  current); ``past_due`` comes from a failed renewal payment; ``paused`` is reserved. Entitlements follow
  the plan while trialing, active or past_due, and the default plan otherwise.
- **Entitlements**: plan + add-ons (limits add up, an add-on's once per unit; booleans OR; unlimited wins).
  Per-tenant overrides are not in scope.
- **History**: a snapshot of the subscription at every change, newest first.
- **Permissions**: reading the subscription, its history and a preview needs ``billing:read``;
  entitlements ``usage:read``; every change, Checkout and the portal ``billing:write``.
- **Idempotency-Key** on subscribe, change and Checkout: see ``idempotency``.
- The function reads and writes with its own role, not tenant-scoped credentials: it also writes platform
  items (the Stripe customer lookup, coupon redemptions), and keys are still built from the actor's tenant.
"""
