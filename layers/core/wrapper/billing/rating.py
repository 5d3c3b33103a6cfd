"""Rating: what a subscription's invoice holds when one of its periods ends.

The invoice that closes a period bills, in this order of lines:

- the **fee of the next period, in advance**: the plan's price for its seats (kind ``subscription``), then
  each add-on's price for its quantity (kind ``addon``), at the terms the next period has (a scheduled
  change already applied);
- the **usage of the ending period, in arrears**: one line per usage price of the ending period's plan
  (kind ``usage``), its quantity the meter's value for that period, priced once by the price's model.
  A trial's usage is not billed.

Then the subscription's coupon (while it still covers a period), the tax rate of the tenant's billing
address (the catalog's active rate for the country and region; none without an address), and the order
of amounts of ``wrapper.money.invoicing``. The same code rates the upcoming invoice
(``GET /v1/invoices/upcoming``): the current period as if it ended now.
"""

from __future__ import annotations

from datetime import datetime

from wrapper.catalog.store import Catalog
from wrapper.invoices.issuing import draft
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import InvoiceStore, renewal_invoice_id
from wrapper.kernel.tenant import TenantContext
from wrapper.money.invoicing import PricedLine
from wrapper.money.pricing import amount_for
from wrapper.store.table import Item
from wrapper.subscriptions.models import Subscription
from wrapper.subscriptions.rules import coupon_discount, fee_lines
from wrapper.subscriptions.store import SubscriptionStore
from wrapper.usage.logic import combine
from wrapper.usage.store import UsageStore


class Rating:
    def __init__(self, catalog: Catalog, subscriptions: SubscriptionStore, usage: UsageStore,
                 invoices: InvoiceStore) -> None:
        self.catalog = catalog
        self.subscriptions = subscriptions
        self.usage = usage
        self.invoices = invoices

    def closing_invoice(self, ending: Subscription, following: Subscription | None, *, at: datetime,
                        profile: Item | None = None) -> Invoice:
        """The draft invoice that closes ``ending``'s period, ``following`` being the subscription after it
        (None when the subscription ends there: its final invoice bills only the period's usage). ``profile`` is
        the tenant's profile item when the caller has read it already (it holds the billing details)."""
        tenant = TenantContext(ending.tenant_id)
        lines = fee_lines(following, self.catalog.price) if following is not None else []
        if ending.status != "trialing":
            lines += self._usage_lines(tenant, ending)
        terms = following or ending
        return draft(self.catalog, profile if profile is not None else self.subscriptions.profile(tenant),
                     renewal_invoice_id(ending.tenant_id, ending.id, ending.current_period_start, at), lines,
                     currency=terms.currency, tenant_id=ending.tenant_id, subscription_id=ending.id,
                     period=(ending.current_period_start, ending.current_period_end), at=at,
                     discount=coupon_discount(terms.coupon, terms.currency))

    def _usage_lines(self, tenant: TenantContext, ending: Subscription) -> list[PricedLine]:
        lines: list[PricedLine] = []
        for price in self.catalog.usage_prices(ending.plan_id, currency=ending.currency,
                                               interval_unit=ending.interval):
            code = price.spec.meter
            meter = self.catalog.meter(code) if code else None
            if meter is None:
                continue
            quantity = combine(meter, self.usage.period_shards(tenant, meter.code, ending.current_period_start))
            lines.append(PricedLine("usage", f"{meter.name or meter.code} ({price.spec.model})",
                                    amount_for(price.spec, quantity), quantity, meter=meter.code,
                                    period_start=ending.current_period_start.isoformat(),
                                    period_end=ending.current_period_end.isoformat(), price_id=price.id))
        return lines
