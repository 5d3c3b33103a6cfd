"""Lambda REQUEST authorizer for every /v1 route that is not public.

This is the slot the identity issue (#3) fills: it will validate JWTs and API keys and put
the tenant context into ``context``. Until then no credential is valid, so every call is
answered 401 the way API Gateway expects (an ``Unauthorized`` error).
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

class UnauthorizedError(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")

@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("no identity provider is wired yet; refusing", extra={"method_arn": event.get("methodArn")})
    raise UnauthorizedError()
