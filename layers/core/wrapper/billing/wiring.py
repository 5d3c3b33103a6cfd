"""The billing services as every function builds them, in one place."""

from __future__ import annotations

from wrapper.billing.dunning import Dunning
from wrapper.billing.rating import Rating
from wrapper.billing.renewal import PeriodEnds
from wrapper.invoices.store import InvoiceStore
from wrapper.notifications import Notifier
from wrapper.settings import Settings
from wrapper.store.table import Table
from wrapper.subscriptions.logic import Subscriptions
from wrapper.usage.store import UsageStore


def rating_for(settings: Settings, table: Table, subscriptions: Subscriptions) -> Rating:
    return Rating(subscriptions.catalog, subscriptions.store, UsageStore(table),
                  InvoiceStore(table, number_prefix=settings.invoice_number_prefix))


def period_ends_for(settings: Settings, table: Table, subscriptions: Subscriptions, *,
                    notifier: Notifier | None = None) -> PeriodEnds:
    """``notifier`` sends dunning's payment-failed emails (none: the failures are recorded, not emailed)."""
    rating = rating_for(settings, table, subscriptions)
    return PeriodEnds(subscriptions, rating, Dunning(subscriptions, rating.invoices,
                                                     schedule=settings.dunning_schedule, notifier=notifier))
