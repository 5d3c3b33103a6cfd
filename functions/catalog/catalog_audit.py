"""GET /v1/admin/audit-log: the platform's audit log (the operator's catalog changes), newest first."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import DENIED, operator_only, settings

from wrapper.audit.dal import AuditEntry, DynamoAuditLog
from wrapper.kernel.pagination import MAX_LIMIT, Page
from wrapper.store.table import table_for

router = APIGatewayRouter()
# PLATFORM# items: the function's own role, never tenant-scoped credentials.
audit_log = DynamoAuditLog(table_for(settings))


@router.get("/v1/admin/audit-log", summary="The platform's audit log, newest first", tags=["admin-audit"],
            middlewares=operator_only,
            description="Events with no tenant: every change to the catalog (`plan.created`, `price.retired`, "
                        "...), with the operator who made it as `actor` and the plan, price, feature, meter, "
                        "coupon or tax rate as `target`. A tenant's own acts are in its `/v1/audit-log`.",
            responses={200: {"description": "A page of entries, newest first"}, **DENIED,
                       422: {"description": "A query parameter does not fit"}})
def list_platform_audit_log(
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z_]+\.[a-z_]+$",
                                        description="Only this event type, e.g. price.retired")] = None,
    since: Annotated[datetime | None, Query(alias="from", description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Before this time (exclusive)")] = None,
) -> Page[AuditEntry]:
    return audit_log.platform_page(limit=limit, cursor=cursor, action=action, since=since, until=until)
