"""Usage by day and for the current period, and entitlement checks."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from usage_wiring import usage

from wrapper.api.tenant import current_actor
from wrapper.usage.models import DailyUsage, EntitlementCheck, UsageSummary

router = APIGatewayRouter()
USAGE = ["usage"]
CODE = r"^[a-z][a-z0-9_-]{0,47}$"


@router.get("/v1/usage", summary="A meter's usage per UTC day", tags=USAGE,
            description="`from` and `to` are inclusive days (default: the last 30 days); at most 366 days.",
            responses={200: {"description": "One item per day with usage, oldest first"},
                       403: {"description": "Missing permission usage:read"},
                       422: {"description": "Unknown meter or bad dates"}})
def daily_usage(meter: Annotated[str, Query(min_length=1, max_length=48, pattern=CODE)],
                from_: Annotated[date | None, Query(alias="from")] = None,
                to: Annotated[date | None, Query()] = None,
                granularity: Annotated[str, Query(pattern=r"^day$")] = "day") -> DailyUsage:
    return usage.daily(current_actor(router), meter, from_, to)


@router.get("/v1/usage/summary", summary="Each meter's value in the current billing period, with its limit",
            tags=USAGE,
            responses={200: {"description": "One item per meter"},
                       403: {"description": "Missing permission usage:read"}})
def usage_summary() -> UsageSummary:
    return usage.summary(current_actor(router))


@router.get("/v1/entitlements/<feature>", summary="May the tenant use a feature now, and how much is left",
            tags=USAGE,
            responses={200: {"description": "allowed, limit, used, remaining, hard"},
                       403: {"description": "Missing permission usage:read"},
                       404: {"description": "No such feature"}})
def check_entitlement(feature: Annotated[str, Path(min_length=1, max_length=48, pattern=CODE)]) -> EntitlementCheck:
    return usage.check(current_actor(router), feature)
