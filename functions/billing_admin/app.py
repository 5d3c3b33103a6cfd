"""The platform operator's billing API under /v1/admin/: every tenant's invoices (list, read, void,
verify) and the billing runs (start one for a day, list them, read one). Every route is admitted by
``operator_middleware``."""

from typing import Any

import billing_admin_invoices
import billing_admin_runs
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from billing_admin_wiring import settings

from wrapper import aws
from wrapper.api.app import build_app

logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
app.include_router(billing_admin_invoices.router)
app.include_router(billing_admin_runs.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
