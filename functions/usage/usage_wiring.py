"""What the usage function's routers share, built once per cold start."""

from decimal import Decimal

from wrapper.catalog.store import Catalog
from wrapper.catalog.view import CatalogView
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.kernel.errors import Unavailable
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.port import Payments
from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.subscriptions.wiring import subscriptions_for
from wrapper.tenancy.scoping import scoped_tables_for
from wrapper.usage.service import Usage
from wrapper.usage.store import UsageStore

settings = Settings.from_environ()
table = table_for(settings)
catalog = Catalog(table)


def _no_payments() -> Payments:
    # Reading (or materializing) the current subscription never charges anyone.
    raise Unavailable("Payments are not reachable from the usage function.")


_subscriptions = subscriptions_for(settings, table, catalog=catalog, payments=_no_payments)


def overdraft(tenant: TenantContext) -> Decimal:
    return usage.overdraft(tenant)


# A tenant's usage and wallet are read and written with credentials scoped to that tenant; the
# catalog (PLATFORM#) and the subscription with the function's own role.
tenant_tables = scoped_tables_for(settings)
credits = Credits(WalletStore(table, tenant_tables=tenant_tables.for_tenant), overdraft_of=overdraft,
                  outbox_ttl_days=settings.outbox_ttl_days)
usage: Usage = Usage(UsageStore(table, outbox_ttl_days=settings.outbox_ttl_days,
                                tenant_tables=tenant_tables.for_tenant),
                     CatalogView(catalog), _subscriptions.current_of, credits=credits)
