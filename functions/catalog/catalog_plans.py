"""/v1/admin/plans: the operator's plans and their prices (immutable, versioned)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import ADMIN, DENIED, WRITE_REFUSED, UlidPath, admin, operator_only

from wrapper.api.operator import current_operator
from wrapper.catalog.models import Plan, Price
from wrapper.catalog.requests import NewPlan, NewPrice, PlanUpdate
from wrapper.kernel.pagination import Page

router = APIGatewayRouter()


def _etag(plan: Plan) -> dict[str, str]:
    return {"ETag": f'"{plan.version}"'}


@router.get("/v1/admin/plans", summary="Every plan, archived ones too, with its active prices", tags=ADMIN,
            middlewares=operator_only, responses={200: {"description": "The plans, in code order"}, **DENIED})
def list_plans() -> Page[Plan]:
    return Page(items=admin.plans())


@router.post("/v1/admin/plans", summary="Create a plan (base or add-on) with its entitlements", tags=ADMIN,
             middlewares=operator_only,
             description="`code` is unique and never changes. `is_default: true` makes this the base plan new "
                         "tenants start on, and unsets the previous default in the same write. Entitlements name "
                         "existing features: a boolean feature takes `enabled`, a limit or metered one `limit` "
                         "(null: unlimited) and `hard`. Prices are added with POST .../prices.",
             responses={201: {"description": "Created"}, **WRITE_REFUSED,
                        409: {"description": "The code is taken, or the default changed meanwhile"}})
def create_plan(body: Annotated[NewPlan, Body()]) -> Response[Plan]:
    plan = admin.create_plan(body, by=current_operator(router).user_id)
    return Response(status_code=201, content_type="application/json", body=plan, headers=_etag(plan))


@router.get("/v1/admin/plans/<plan_id>", summary="A plan with every version of its prices", tags=ADMIN,
            middlewares=operator_only,
            responses={200: {"description": "The plan; ETag carries its version"}, **DENIED,
                       404: {"description": "No such plan"}})
def get_plan(plan_id: UlidPath) -> Response[Plan]:
    plan = admin.plan(plan_id)
    return Response(status_code=200, content_type="application/json", body=plan, headers=_etag(plan))


@router.patch("/v1/admin/plans/<plan_id>", summary="Change a plan (never its code)", tags=ADMIN,
              middlewares=operator_only,
              description="Optimistic concurrency: send the `version` you read, in the body or as "
                          "`If-Match: \"<version>\"` (the ETag of GET); a plan changed since answers 409. "
                          "`status: archived` hides it from the public catalog; the default plan cannot be "
                          "archived. Prices are not changed here: add a new version with POST .../prices.",
              responses={200: {"description": "The plan, changed; ETag carries its new version"}, **WRITE_REFUSED,
                         404: {"description": "No such plan"},
                         409: {"description": "The plan (or the default) changed since that version"}})
def patch_plan(plan_id: UlidPath, body: Annotated[PlanUpdate, Body()],
               if_match: Annotated[str | None, Header(alias="If-Match", max_length=64)] = None) -> Response[Plan]:
    plan = admin.update_plan(plan_id, body, if_match=if_match, by=current_operator(router).user_id)
    return Response(status_code=200, content_type="application/json", body=plan, headers=_etag(plan))


@router.post("/v1/admin/plans/<plan_id>/prices", summary="Add a price version to a plan", tags=ADMIN,
             middlewares=operator_only,
             description="Prices are immutable: a change is a new price, version 1 + the plan's highest. With "
                         "`replaces`, the named price of this plan is retired in the same write; subscriptions "
                         "keep the price id they were sold. `spec.model` is flat, per_unit, package, graduated "
                         "or volume. Amounts are minor units: `flat_amount` an integer, `unit_amount` an integer "
                         "or a decimal **string** (\"0.0125\") — JSON numbers with a fraction are refused.",
             responses={201: {"description": "Created"}, **WRITE_REFUSED, 404: {"description": "No such plan"},
                        409: {"description": "The plan is archived, the replaced price is already retired, "
                                             "or another price was added meanwhile"}})
def create_price(plan_id: UlidPath, body: Annotated[NewPrice, Body()]) -> Response[Price]:
    price = admin.add_price(plan_id, body, by=current_operator(router).user_id)
    return Response(status_code=201, content_type="application/json", body=price)


@router.delete("/v1/admin/plans/<plan_id>/prices/<price_id>", summary="Retire a price for new subscriptions",
               tags=ADMIN, middlewares=operator_only,
               description="The price stays readable and existing subscriptions keep it. Idempotent.",
               responses={200: {"description": "The price, inactive"}, **DENIED,
                          404: {"description": "No such price in this plan"}})
def retire_price(plan_id: UlidPath, price_id: UlidPath) -> Price:
    return admin.retire_price(plan_id, price_id, by=current_operator(router).user_id)
