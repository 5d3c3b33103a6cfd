"""Usage: events in (POST /v1/usage/events), usage out (GET /v1/usage, /v1/usage/summary) and
entitlement checks (GET /v1/entitlements/{feature}), and the credit wallet (GET /v1/credits and
/v1/credits/ledger). Every route acts for the caller's tenant."""

from typing import Any

import usage_credits
import usage_events
import usage_reads
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from usage_wiring import settings, table

from wrapper import aws
from wrapper.api.app import build_app
from wrapper.api.ratelimit import DynamoRequestCounter
from wrapper.api.tenant import tenant_middleware
from wrapper.tenancy.roles import Roles

logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
app.use(middlewares=[tenant_middleware(logger, DynamoRequestCounter(table),
                                       custom_roles=Roles(table, outbox_ttl_days=settings.outbox_ttl_days))])
app.include_router(usage_events.router)
app.include_router(usage_reads.router)
app.include_router(usage_credits.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
