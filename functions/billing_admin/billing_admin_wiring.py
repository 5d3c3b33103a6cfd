"""What the billing-admin function's routers share, built once per cold start: the settings, the operator
gate, the services, path shapes and answers."""

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from wrapper import aws
from wrapper.api.operator import operator_middleware
from wrapper.billing.admin import InvoiceAdmin
from wrapper.billing.executions import StepFunctionsExecutions
from wrapper.billing.runs import BillingRuns
from wrapper.billing.wiring import credit_notes_for
from wrapper.catalog.store import Catalog
from wrapper.invoices.store import InvoiceStore
from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.subscriptions.settings import LazyPayments
from wrapper.usage.store import UsageStore

settings = Settings.from_environ()
# Every tenant's invoices and usage: the function's own role, never tenant-scoped credentials.
table = table_for(settings)
invoice_admin = InvoiceAdmin(InvoiceStore(table, number_prefix=settings.invoice_number_prefix), Catalog(table),
                             UsageStore(table), outbox_ttl_days=settings.outbox_ttl_days)
# Refunds through Stripe, reached on the first refund; the wallet credited for method wallet.
credit_notes = credit_notes_for(settings, table, LazyPayments(settings.stripe, aws.client_for(settings, "ssm")))
billing_runs = BillingRuns(StepFunctionsExecutions(aws.client_for(settings, "stepfunctions"),
                                                   settings.billing_run_state_machine_arn),
                           allow_future=settings.allow_future_billing_runs)
# The service name comes from the environment, so this is the same logger as app.py's.
operator_only = [operator_middleware(Logger())]

InvoiceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^in_[0-9]{8}_[0-9a-f]{16}$")]
RunId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^([A-Za-z0-9_-]{1,80}|b64\.[A-Za-z0-9_-]{1,195})$")]
TENANT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

DENIED: dict[int, OpenAPIResponse] = {401: {"description": "Missing or invalid credentials"},
                                      403: {"description": "Not the platform operator"}}
