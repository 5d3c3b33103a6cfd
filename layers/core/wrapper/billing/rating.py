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
from wrapper.invoices.models import Invoice, invoice_of
from wrapper.invoices.store import InvoiceStore, renewal_invoice_id
from wrapper.kernel.tenant import TenantContext
from wrapper.money.invoicing import Discount, PricedLine, TaxRule, total_invoice
from wrapper.money.pricing import amount_for
from wrapper.subscriptions.models import Subscription
from wrapper.subscriptions.rules import describe_terms
from wrapper.subscriptions.store import SubscriptionStore
from wrapper.tenancy.profile import BillingDetails, billing_details_of
from wrapper.usage.logic import combine
from wrapper.usage.store import UsageStore


class Rating:
    def __init__(self, catalog: Catalog, subscriptions: SubscriptionStore, usage: UsageStore,
                 invoices: InvoiceStore) -> None:
        self.catalog = catalog
        self.subscriptions = subscriptions
        self.usage = usage
        self.invoices = invoices

    def closing_invoice(self, ending: Subscription, following: Subscription, *, at: datetime) -> Invoice:
        """The draft invoice that closes ``ending``'s period, ``following`` being the subscription after it."""
        tenant = TenantContext(ending.tenant_id)
        lines = self._fee_lines(following)
        if ending.status != "trialing":
            lines += self._usage_lines(tenant, ending)
        customer = billing_details_of(self.subscriptions.profile(tenant))
        coupon = following.coupon if following.coupon and following.coupon.periods_left != 0 else None
        discount = None
        if coupon is not None and (coupon.percent_off is not None or coupon.currency == following.currency):
            discount = Discount(coupon.code, percent_off=coupon.percent_off, amount_off=coupon.amount_off)
        totals = total_invoice(lines, following.currency, discount=discount, tax=self._tax(customer))
        return invoice_of(renewal_invoice_id(ending.tenant_id, ending.id, ending.current_period_start, at), totals,
                          tenant_id=ending.tenant_id, subscription_id=ending.id,
                          period=(ending.current_period_start, ending.current_period_end), at=at,
                          customer=customer, coupon=discount.code if discount else None)

    def _fee_lines(self, following: Subscription) -> list[PricedLine]:
        start, end = following.current_period_start.isoformat(), following.current_period_end.isoformat()
        lines: list[PricedLine] = []
        base = self.catalog.price(following.plan_id, following.price_id) if following.price_id else None
        if base is not None:
            lines.append(PricedLine("subscription", describe_terms(following.plan_code, following.interval,
                                                                   following.seats),
                                    amount_for(base.spec, following.seats), following.seats,
                                    period_start=start, period_end=end, price_id=base.id))
        for addon in following.addons:
            price = self.catalog.price(addon.plan_id, addon.price_id) if addon.price_id else None
            if price is not None:
                lines.append(PricedLine("addon", f"{addon.plan_code} add-on x {addon.quantity}",
                                        amount_for(price.spec, addon.quantity), addon.quantity,
                                        period_start=start, period_end=end, price_id=price.id))
        return lines

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

    def _tax(self, customer: BillingDetails | None) -> TaxRule | None:
        address = customer.address if customer else None
        if address is None:
            return None
        rate = self.catalog.tax_rate_for(address.country, address.subdivision)
        if rate is None:
            return None
        return TaxRule(rate.id, rate.name, rate.percentage, rate.inclusive)
