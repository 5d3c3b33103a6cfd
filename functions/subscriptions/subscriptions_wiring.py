"""What the subscriptions function's routers share, built once per cold start."""

from collections.abc import Callable
from typing import TypeVar

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from pydantic import BaseModel

from wrapper.api.app import idempotency_key_of
from wrapper.billing.service import Invoices
from wrapper.billing.wiring import credit_notes_for, period_ends_for
from wrapper.catalog.store import Catalog
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.credits.topups import TopUps
from wrapper.invoices.wiring import invoice_pdfs_for
from wrapper.kernel.actor import Actor
from wrapper.payments.idempotency import IdempotencyRecords
from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.subscriptions.wiring import subscriptions_for

M = TypeVar("M", bound=BaseModel)

settings = Settings.from_environ()
table = table_for(settings)
catalog = Catalog(table)
subscriptions = subscriptions_for(settings, table, catalog=catalog)
idempotency = IdempotencyRecords(table)
invoices = Invoices(period_ends_for(settings, table, subscriptions))
invoice_pdfs = invoice_pdfs_for(settings, table)
credit_notes = credit_notes_for(settings, table, subscriptions.collection.payments)
top_ups = TopUps(subscriptions.collection, Credits(WalletStore(table), outbox_ttl_days=settings.outbox_ttl_days),
                 unit_amount=settings.credits.unit_amount, currency=settings.credits.currency, catalog=catalog,
                 invoices=subscriptions.invoices)


def once_per_key(router: BaseRouter, actor: Actor, operation: str, body: BaseModel | None,
                 produce: Callable[[], M], model: type[M]) -> M:
    """Run ``produce`` once per Idempotency-Key (the same key and body answer the first answer again)."""
    return idempotency.run(actor.tenant, idempotency_key_of(router), operation,
                           body.model_dump_json() if body else "", produce, model)
