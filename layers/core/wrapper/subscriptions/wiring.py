"""The subscriptions service as every function builds it, in one place: its store on the table, the
catalog, Stripe reached on the first payment call, and the billing page Checkout returns to."""

from __future__ import annotations

from collections.abc import Callable

from wrapper import aws
from wrapper.catalog.store import Catalog
from wrapper.invoices.store import InvoiceStore
from wrapper.payments.port import Payments
from wrapper.settings import Settings
from wrapper.store.table import Table
from wrapper.subscriptions.logic import Subscriptions
from wrapper.subscriptions.settings import LazyPayments
from wrapper.subscriptions.store import SubscriptionStore


def subscriptions_for(settings: Settings, table: Table, *, catalog: Catalog | None = None,
                      payments: Callable[[], Payments] | None = None) -> Subscriptions:
    """``payments`` replaces Stripe where a function must never move money (usage)."""
    return Subscriptions(SubscriptionStore(table, outbox_ttl_days=settings.outbox_ttl_days), catalog or Catalog(table),
                         payments or LazyPayments(settings.stripe, aws.client_for(settings, "ssm")),
                         billing_page=settings.billing_page,
                         invoices=InvoiceStore(table, number_prefix=settings.invoice_number_prefix))
