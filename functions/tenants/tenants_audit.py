"""GET /v1/audit-log: the tenant's security-relevant acts, newest first."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from tenants_wiring import tenant_tables

from wrapper.api.tenant import current_actor
from wrapper.audit.dal import AuditEntry, DynamoAuditLog
from wrapper.kernel.pagination import MAX_LIMIT, Page

router = APIGatewayRouter()


@router.get("/v1/audit-log", summary="The tenant's audit log, newest first", tags=["audit"],
            responses={200: {"description": "A page of entries, newest first"},
                       403: {"description": "Missing permission audit:read"}})
def list_audit_log(
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z_]+\.[a-z_]+$",
                                        description="Only this event type, e.g. member.role_changed")] = None,
    since: Annotated[datetime | None, Query(alias="from", description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Before this time (exclusive)")] = None,
) -> Page[AuditEntry]:
    actor = current_actor(router)
    return DynamoAuditLog(tenant_tables.for_tenant(actor.tenant)).page(
        actor, limit=limit, cursor=cursor, action=action, since=since, until=until)
