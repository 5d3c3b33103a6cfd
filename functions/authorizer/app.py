"""Lambda REQUEST authorizer: a Cognito access token becomes the caller's context (who they
are, and their role and status in each of their tenants). API keys come next (#3)."""

import json
import time
import urllib.request
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper.identity.authorizer import authorize
from wrapper.identity.store import IdentityStore
from wrapper.identity.tokens import InvalidToken, Issuer, JwksCache
from wrapper.settings import Settings
from wrapper.store.table import table_for

settings = Settings()
logger = Logger()


def _fetch_jwks(jwks_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(jwks_url, timeout=2) as answer:  # noqa: S310 - a configured https/http JWKS URL
        document: dict[str, Any] = json.load(answer)
        return document


ISSUERS = (Issuer(issuer=settings.cognito_issuer, jwks_url=settings.cognito_jwks_url,
                  audiences=(settings.user_pool_client_id,), token_use="access"),)  # noqa: S106
KEYS = JwksCache(_fetch_jwks)  # once per cold start: keys are cached across invocations
memberships = IdentityStore(table_for(settings), outbox_ttl_days=settings.outbox_ttl_days)


class UnauthorizedError(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")  # the message API Gateway turns into a 401


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return authorize(event, issuers=ISSUERS, keys=KEYS, memberships=memberships, now=time.time)
    except InvalidToken as refused:
        logger.info("credential refused", extra={"reason": refused.reason})
        raise UnauthorizedError() from None
