"""/v1/admin/tax-rates: tax by the tenant's country and region."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import ADMIN, DENIED, WRITE_REFUSED, UlidPath, admin, operator_only

from wrapper.api.operator import current_operator
from wrapper.catalog.models import TaxRate
from wrapper.catalog.requests import NewTaxRate, TaxRateUpdate
from wrapper.kernel.pagination import Page

router = APIGatewayRouter()


@router.get("/v1/admin/tax-rates", summary="Every tax rate", tags=ADMIN, middlewares=operator_only,
            responses={200: {"description": "The tax rates"}, **DENIED})
def list_tax_rates() -> Page[TaxRate]:
    return Page(items=admin.catalog.tax_rates())


@router.post("/v1/admin/tax-rates", summary="Create a tax rate for a country or one of its regions", tags=ADMIN,
             middlewares=operator_only,
             description="`percentage` is an integer or a decimal string (\"7.25\"), never a float. A country or "
                         "region has at most one active rate.",
             responses={201: {"description": "Created"}, **WRITE_REFUSED,
                        409: {"description": "That country or region already has an active rate"}})
def create_tax_rate(body: Annotated[NewTaxRate, Body()]) -> Response[TaxRate]:
    rate = admin.create_tax_rate(body, by=current_operator(router).user_id)
    return Response(status_code=201, content_type="application/json", body=rate)


@router.patch("/v1/admin/tax-rates/<rate_id>", summary="Activate or deactivate a tax rate, or rename it",
              tags=ADMIN, middlewares=operator_only,
              responses={200: {"description": "The tax rate, changed"}, **WRITE_REFUSED,
                         404: {"description": "No such tax rate"},
                         409: {"description": "Another rate is active there, or changed meanwhile"}})
def patch_tax_rate(rate_id: UlidPath, body: Annotated[TaxRateUpdate, Body()]) -> TaxRate:
    return admin.update_tax_rate(rate_id, body, by=current_operator(router).user_id)
