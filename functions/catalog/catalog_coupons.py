"""/v1/admin/coupons: discounts a subscription can carry."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import ADMIN, DENIED, WRITE_REFUSED, admin, operator_only

from wrapper.api.operator import current_operator
from wrapper.catalog.models import Coupon
from wrapper.catalog.requests import CouponUpdate, NewCoupon
from wrapper.kernel.pagination import Page

router = APIGatewayRouter()
CouponCode = Annotated[str, Path(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]{1,48}$")]


@router.get("/v1/admin/coupons", summary="Every coupon", tags=ADMIN, middlewares=operator_only,
            responses={200: {"description": "The coupons, in code order"}, **DENIED})
def list_coupons() -> Page[Coupon]:
    return Page(items=admin.catalog.coupons())


@router.post("/v1/admin/coupons", summary="Create a coupon", tags=ADMIN, middlewares=operator_only,
             description="Exactly one of `percent_off` (an integer or a decimal string) and `amount_off` "
                         "(minor units, with `currency`). `duration` once, repeating (with "
                         "`duration_in_periods`) or forever. Codes are case-insensitive, stored upper-case.",
             responses={201: {"description": "Created"}, **WRITE_REFUSED, 409: {"description": "The code is taken"}})
def create_coupon(body: Annotated[NewCoupon, Body()]) -> Response[Coupon]:
    coupon = admin.create_coupon(body, by=current_operator(router).user_id)
    return Response(status_code=201, content_type="application/json", body=coupon)


@router.patch("/v1/admin/coupons/<code>", summary="Activate or deactivate a coupon, or rename it", tags=ADMIN,
              middlewares=operator_only,
              responses={200: {"description": "The coupon, changed"}, **WRITE_REFUSED,
                         404: {"description": "No such coupon"}, 409: {"description": "Changed meanwhile; retry"}})
def patch_coupon(code: CouponCode, body: Annotated[CouponUpdate, Body()]) -> Coupon:
    return admin.update_coupon(code, body, by=current_operator(router).user_id)
