"""Audit consumer: every event on the bus becomes one entry in its tenant's audit log, or in the
platform's for an event with no tenant (the catalog's)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.audit import logic
from wrapper.audit.dal import DynamoAuditLog
from wrapper.events.consumer import envelope_from_sqs_body
from wrapper.settings import Settings
from wrapper.store.table import table_for

settings = Settings.from_environ()
logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
audit_log = DynamoAuditLog(table_for(settings))
processor = BatchProcessor(event_type=EventType.SQS)

@tracer.capture_method
def record_handler(record: SQSRecord) -> bool:
    envelope = envelope_from_sqs_body(record.body)
    stored = logic.record(envelope, audit_log)
    logger.info("audit event", extra={"event_id": envelope.id, "event_type": envelope.type, "stored": stored})
    return stored

@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
