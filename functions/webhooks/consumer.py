"""Work in progress (#4): applies queued Stripe events."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"batchItemFailures": []}
