"""/v1/admin/tenants/{tenant_id}/credits/grants: the platform operator gives a tenant credits."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import WRITE_REFUSED, operator_only, settings

from wrapper.api.app import idempotency_key_of, request_meta_of
from wrapper.api.operator import current_operator
from wrapper.credits.models import CreditGrant, NewGrant
from wrapper.credits.service import Credits
from wrapper.credits.store import WalletStore
from wrapper.store.table import table_for

router = APIGatewayRouter()
credits = Credits(WalletStore(table_for(settings)), outbox_ttl_days=settings.outbox_ttl_days)
TenantPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@router.post("/v1/admin/tenants/<tenant_id>/credits/grants", summary="Give a tenant credits",
             tags=["admin-credits"], middlewares=operator_only,
             description="Adds a grant to the tenant's wallet, with a priority (lower is spent first) and an "
                         "optional expiry; it repays an overdraft first. With an `Idempotency-Key` the same "
                         "key grants once (the same grant is answered again; another body with it is a 422).",
             responses={201: {"description": "The grant"}, **WRITE_REFUSED, 404: {"description": "No such tenant"}})
def grant_credits(tenant_id: TenantPath, body: Annotated[NewGrant, Body()]) -> Response[CreditGrant]:
    grant = credits.give(tenant_id, body, by=current_operator(router).user_id,
                         idempotency_key=idempotency_key_of(router), request_meta=request_meta_of(router))
    return Response(status_code=201, content_type="application/json", body=grant)
