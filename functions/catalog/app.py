"""The catalog: the public plan list (GET /v1/plans, no credentials) and the platform operator's
catalog API under /v1/admin/ (plans and prices, features, meters, coupons, tax rates, credit grants to
a tenant, and the platform's audit log; routers per resource,
each route admitted by ``operator_middleware``)."""

from typing import Any

import catalog_audit
import catalog_coupons
import catalog_credits
import catalog_features
import catalog_meters
import catalog_plans
import catalog_tax_rates
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from catalog_shared import settings, table

from wrapper import aws
from wrapper.api.app import build_app
from wrapper.catalog.models import PublicPlan
from wrapper.catalog.store import Catalog
from wrapper.kernel.pagination import Page

logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)
catalog = Catalog(table)

for router in (catalog_plans.router, catalog_features.router, catalog_meters.router, catalog_coupons.router,
               catalog_tax_rates.router, catalog_credits.router, catalog_audit.router):
    app.include_router(router)


@app.get("/v1/plans", summary="The public catalog: active public plans with their active prices", tags=["catalog"],
         description="No credentials needed. Each plan carries its `id` and `code`, what it gives "
                     "(`entitlements`) and its prices per currency and interval. Amounts are minor units; "
                     "`unit_amount` is a decimal string.",
         responses={200: {"description": "The plans, in code order"}})
def list_public_plans() -> Page[PublicPlan]:
    return Page(items=[PublicPlan.of(plan) for plan in catalog.public_plans()])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
