"""What the usage function's routers share, built once per cold start."""

from wrapper.catalog.store import Catalog
from wrapper.errors import Unavailable
from wrapper.payments.port import Payments
from wrapper.settings import Settings
from wrapper.store.keys import TenantContext
from wrapper.store.table import table_for
from wrapper.subscriptions.logic import Subscriptions
from wrapper.subscriptions.models import Subscription
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


def subscription_of(tenant: TenantContext) -> Subscription:
    """The tenant's current subscription, put on the default plan on first access."""
    # Subscriptions.current() asks for billing:read, which a usage:write API key lacks; the
    # tenant's own period is not billing data it is refused.
    return _subscriptions._current(tenant, _subscriptions.clock())


usage = Usage(UsageStore(table, outbox_ttl_days=settings.outbox_ttl_days), CatalogView(catalog), subscription_of)
