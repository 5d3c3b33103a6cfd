"""The billing services as every function builds them, in one place."""

from __future__ import annotations

from collections.abc import Callable

from wrapper.billing.credit_notes import CreditNotes
from wrapper.billing.dunning import Dunning
from wrapper.billing.rating import Rating
from wrapper.billing.renewal import PeriodEnds
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.invoices.credit_note_store import CreditNoteStore
from wrapper.invoices.store import InvoiceStore
from wrapper.notifications import Notifier
from wrapper.payments.port import Payments
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


def credit_notes_for(settings: Settings, table: Table, payments: Callable[[], Payments]) -> CreditNotes:
    """Credit notes: the invoices they credit, the provider that refunds, the wallet that is credited."""
    return CreditNotes(InvoiceStore(table, number_prefix=settings.invoice_number_prefix), CreditNoteStore(table),
                       payments=payments, wallet=Credits(WalletStore(table), outbox_ttl_days=settings.outbox_ttl_days),
                       unit_amount=settings.credits.unit_amount, credit_currency=settings.credits.currency,
                       outbox_ttl_days=settings.outbox_ttl_days)
