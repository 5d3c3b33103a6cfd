"""Task Lambda of the billing-run state machine; the state's ``task`` field picks the step."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.billing import run
from wrapper.billing.dal import DynamoDueSubscriptions
from wrapper.billing.wiring import period_ends_for
from wrapper.invoices.wiring import invoice_pdfs_for
from wrapper.kernel.tenant import TenantContext
from wrapper.notifications import SesNotifier
from wrapper.settings import Settings
from wrapper.store.table import table_for
from wrapper.subscriptions.wiring import subscriptions_for

settings = Settings.from_environ()
logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES_WITH_STRIPE)
metrics = Metrics()
table = table_for(settings)
due = DynamoDueSubscriptions(table)
period_ends = period_ends_for(settings, table, subscriptions_for(settings, table),
                              notifier=SesNotifier(aws.client_for(settings, "sesv2"), sender=settings.email_sender))
invoice_pdfs = invoice_pdfs_for(settings, table)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = event.get("task")
    if task == "plan":
        return run.plan(run.RunInput.model_validate(event), due)
    if task == "bill":
        result = run.bill(event.get("subscription", {}), run.RunInput.model_validate(event), period_ends)
        if result.get("step") == "period_end" and result.get("invoice_id"):
            # Issued just now; a failed render is logged and never fails the run.
            result["pdf_stored"] = invoice_pdfs.store_issued(TenantContext(result["tenant_id"]), result["invoice_id"])
        logger.info("billed", extra=result)
        return result
    raise ValueError(f"unknown billing task: {task!r}")
