"""Work in progress (#4): the routes come with the change that builds them."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper.api.app import build_app

logger = Logger()
app = build_app(logger)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
