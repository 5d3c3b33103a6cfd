"""/v1/admin/billing-runs: start a billing run for a day, list the runs, read one."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from billing_admin_wiring import DENIED, RunId, billing_runs, operator_only

from wrapper.api.app import idempotency_key_of
from wrapper.api.operator import current_operator
from wrapper.billing.runs import BillingRun, NewBillingRun
from wrapper.kernel.pagination import MAX_LIMIT, Page

router = APIGatewayRouter()
TAGS = ["admin-billing-runs"]


@router.post("/v1/admin/billing-runs", summary="Start a billing run for a day", tags=TAGS, middlewares=operator_only,
             description="Starts the billing-run state machine as the daily schedule does, for `run_date`: the "
                         "subscriptions whose period ends that day (UTC) are closed, invoiced and charged; a "
                         "repeated run changes nothing. A day that has not come is refused (409) unless the "
                         "stage allows it (the local stage does). With an `Idempotency-Key` the same key starts "
                         "one run (the same run is answered again; another `run_date` with it is a 422).",
             responses={202: {"description": "Started: the run's `id` and `status`"}, **DENIED,
                        400: {"description": "The body is not valid JSON"},
                        409: {"description": "run_date is in the future"},
                        422: {"description": "The body does not fit the schema"}})
def start_billing_run(body: Annotated[NewBillingRun, Body()]) -> Response[BillingRun]:
    run = billing_runs.start(body, by=current_operator(router).user_id, idempotency_key=idempotency_key_of(router))
    return Response(status_code=202, content_type="application/json", body=run)


@router.get("/v1/admin/billing-runs", summary="The billing runs, newest first", tags=TAGS, middlewares=operator_only,
            description="The schedule's and the operator's, each with its status and, once it has succeeded, its "
                        "summary. Each run on a page is read on its own: `limit` defaults to 20.",
            responses={200: {"description": "A page of runs"}, **DENIED, 422: {"description": "A bad limit or cursor"}})
def list_billing_runs(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
                      cursor: Annotated[str | None, Query(min_length=1, max_length=2048)] = None) -> Page[BillingRun]:
    return billing_runs.page(limit=limit, cursor=cursor)


@router.get("/v1/admin/billing-runs/<run_id>", summary="One billing run: its status and summary", tags=TAGS,
            middlewares=operator_only,
            responses={200: {"description": "The run"}, **DENIED, 404: {"description": "No such run"}})
def get_billing_run(run_id: RunId) -> BillingRun:
    return billing_runs.get(run_id)
