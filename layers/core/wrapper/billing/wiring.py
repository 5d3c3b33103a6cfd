"""The billing services as every function builds them, in one place."""

from __future__ import annotations

from wrapper.billing.rating import Rating
from wrapper.billing.renewal import PeriodEnds
from wrapper.invoices.store import InvoiceStore
from wrapper.settings import Settings
from wrapper.store.table import Table
from wrapper.subscriptions.logic import Subscriptions
from wrapper.usage.store import UsageStore


def rating_for(settings: Settings, table: Table, subscriptions: Subscriptions) -> Rating:
    return Rating(subscriptions.catalog, subscriptions.store, UsageStore(table),
                  InvoiceStore(table, number_prefix=settings.invoice_number_prefix))


def period_ends_for(settings: Settings, table: Table, subscriptions: Subscriptions) -> PeriodEnds:
    return PeriodEnds(subscriptions, rating_for(settings, table, subscriptions))
