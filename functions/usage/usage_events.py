"""POST /v1/usage/events: idempotent ingestion, each event answered on its own."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from usage_wiring import usage

from wrapper.api.tenant import current_actor
from wrapper.kernel.errors import DomainError
from wrapper.usage.models import MAX_BODY_BYTES, EventBatch, IngestResult

router = APIGatewayRouter()
USAGE = ["usage"]


class PayloadTooLarge(DomainError):
    status = 413
    title = "Content Too Large"
    type_slug = "payload-too-large"


@router.post("/v1/usage/events", summary="Record usage events (idempotent by event_id)", tags=USAGE,
             description="1 to 100 events. Each is answered in the order sent: `accepted`, `duplicate` (the "
                         "event_id was recorded before, within 35 days; counted once) or `rejected` with a "
                         "`reason` (the others of the batch are kept). Timestamps from 35 days back to 5 minutes "
                         "ahead. Events for a meter whose hard limit is reached are rejected with "
                         "`limit_reached`; when that refuses every event of the batch the answer is 403.",
             responses={200: {"description": "One result per event, in the order sent"},
                        403: {"description": "Missing permission usage:write, or every event hit a hard limit"},
                        413: {"description": "The body is larger than 256 KB"},
                        422: {"description": "Not an object with 1 to 100 events"}})
def ingest_events(body: Annotated[EventBatch, Body()]) -> IngestResult:
    raw = router.current_event.body or ""
    if len(raw.encode()) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes: send fewer events per batch.")
    return usage.ingest(current_actor(router), body.events)
