"""What the usage function's routers share, built once per cold start."""

from decimal import Decimal

from wrapper.catalog.store import Catalog
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.errors import Unavailable
from wrapper.payments.port import Payments
from wrapper.settings import Settings
from wrapper.store.keys import TenantContext
from wrapper.store.table import table_for
from wrapper.subscriptions.logic import Subscriptions
from wrapper.subscriptions.store import SubscriptionStore
from wrapper.usage.service import CatalogView, Usage
from wrapper.usage.store import UsageStore

settings = Settings()
table = table_for(settings)
catalog = Catalog(table)


def _no_payments() -> Payments:
    # Reading (or materializing) the current subscription never charges anyone.
    raise Unavailable("Payments are not reachable from the usage function.")


_subscriptions = Subscriptions(SubscriptionStore(table, outbox_ttl_days=settings.outbox_ttl_days), catalog,
                               _no_payments, billing_page="")


def overdraft(tenant: TenantContext) -> Decimal:
    return usage.overdraft(tenant)


credits = Credits(WalletStore(table), overdraft_of=overdraft, outbox_ttl_days=settings.outbox_ttl_days)
usage: Usage = Usage(UsageStore(table, outbox_ttl_days=settings.outbox_ttl_days), CatalogView(catalog),
                     _subscriptions.current_of, credits=credits)
