"""Task Lambda of the billing-run state machine; the state's ``task`` field picks the step."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper.billing import run
from wrapper.billing.dal import DynamoDueSubscriptions
from wrapper.settings import Settings
from wrapper.store.table import table_for

settings = Settings()
logger = Logger()
tracer = Tracer()
metrics = Metrics()
due = DynamoDueSubscriptions(table_for(settings))

@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = event.get("task")
    if task == "plan":
        return run.plan(run.RunInput.model_validate(event), due)
    if task == "bill":
        return run.bill(event.get("subscription", {}))
    raise ValueError(f"unknown billing task: {task!r}")
