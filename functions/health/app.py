"""GET /v1/health and GET /v1/openapi.json: no authorizer."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper import aws
from wrapper.api.app import build_app
from wrapper.health import Health, check_health
from wrapper.openapi_doc import openapi_document
from wrapper.settings import Settings

settings = Settings.from_environ()
logger = Logger()
tracer = Tracer(patch_modules=aws.TRACED_MODULES)
metrics = Metrics()
app = build_app(logger, cors_allow_origin=settings.cors_allow_origin)

def _probes() -> dict[str, Any]:
    dynamodb, events, sqs = (aws.client_for(settings, s) for s in ("dynamodb", "events", "sqs"))
    probes: dict[str, Any] = {
        "table": lambda: dynamodb.describe_table(TableName=settings.table_name),
        "event_bus": lambda: events.describe_event_bus(Name=settings.event_bus_name),
    }
    for url in settings.queue_urls:
        name = url.rsplit("/", 1)[-1]
        probes[f"queue:{name}"] = lambda url=url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return probes

@app.get("/v1/health", summary="Is the service and what it depends on up?", tags=["platform"],
         responses={200: {"description": "All dependencies answer"},
                    503: {"description": "A dependency does not answer"}})
@tracer.capture_method
def get_health() -> Response[Health]:
    health = check_health(_probes(), version=settings.version, stage=settings.stage)
    return Response(status_code=200 if health.status == "ok" else 503, content_type="application/json",
                    body=health, headers={"Cache-Control": "no-store"})

@app.get("/v1/openapi.json", summary="The OpenAPI 3.1 document of the whole API", tags=["platform"])
def get_openapi() -> dict[str, Any]:
    return openapi_document()

@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
