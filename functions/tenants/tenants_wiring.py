"""What the tenants function's routers share, built once per cold start."""

from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.tenancy.scoping import scoped_tables_for

settings = Settings.from_environ()
table = table_for(settings)
# Tenant-only reads and writes go through credentials scoped to the actor's tenant; changes that
# also touch platform items (a user's membership links) use the function's own role.
tenant_tables = scoped_tables_for(settings)
