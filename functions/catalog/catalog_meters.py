"""/v1/admin/meters: how usage events become numbers (count, sum, max, unique_count, latest)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import ADMIN, DENIED, WRITE_REFUSED, CodePath, admin, operator_only

from wrapper.api.operator import current_operator
from wrapper.catalog.models import Meter
from wrapper.catalog.requests import MeterUpdate, NewMeter
from wrapper.kernel.pagination import Page

router = APIGatewayRouter()


@router.get("/v1/admin/meters", summary="Every meter", tags=ADMIN, middlewares=operator_only,
            responses={200: {"description": "The meters, in code order"}, **DENIED})
def list_meters() -> Page[Meter]:
    return Page(items=admin.catalog.meters())


@router.post("/v1/admin/meters", summary="Create a meter", tags=ADMIN, middlewares=operator_only,
             description="Events named `event_name` whose properties equal every `filter` entry are aggregated "
                         "(`count`, or `sum`/`max`/`unique_count`/`latest` of `property`). What a meter counts "
                         "never changes; a metered feature points at it by code.",
             responses={201: {"description": "Created"}, **WRITE_REFUSED, 409: {"description": "The code is taken"}})
def create_meter(body: Annotated[NewMeter, Body()]) -> Response[Meter]:
    meter = admin.create_meter(body, by=current_operator(router).user_id)
    return Response(status_code=201, content_type="application/json", body=meter)


@router.patch("/v1/admin/meters/<code>", summary="Rename a meter, or stop or resume its counting", tags=ADMIN,
              middlewares=operator_only,
              responses={200: {"description": "The meter, changed"}, **WRITE_REFUSED,
                         404: {"description": "No such meter"}, 409: {"description": "Changed meanwhile; retry"}})
def patch_meter(code: CodePath, body: Annotated[MeterUpdate, Body()]) -> Meter:
    return admin.update_meter(code, body, by=current_operator(router).user_id)
