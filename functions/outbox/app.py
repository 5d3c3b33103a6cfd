"""DynamoDB stream → EventBridge: publishes outbox records, reports what could not be sent."""

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.events.eventbridge import EventBridgeBus
from wrapper.events.publisher import publish_stream_records
from wrapper.settings import Settings

settings = Settings.from_environ()
logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
bus = EventBridgeBus(aws.client_for(settings, "events"))

@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = publish_stream_records(event.get("Records", []), bus, bus_name=settings.event_bus_name,
                                     source=settings.event_source, sleep=time.sleep)
    metrics.add_metric(name="OutboxPublished", unit=MetricUnit.Count, value=outcome.published)
    if outcome.failed_sequence_numbers:
        metrics.add_metric(name="OutboxPublishFailed", unit=MetricUnit.Count,
                           value=len(outcome.failed_sequence_numbers))
        logger.warning("outbox records not published; Lambda will retry them",
                       extra={"sequence_numbers": outcome.failed_sequence_numbers})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in outcome.failed_sequence_numbers]}
