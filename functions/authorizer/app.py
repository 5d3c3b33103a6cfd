"""Lambda REQUEST authorizer: a Cognito access token, another OIDC provider's token (OIDC_ISSUERS)
or an API key becomes the caller's context (who they are, and their role or permissions and
status in each of their tenants, and whether they are a platform operator)."""

import json
import urllib.request
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from wrapper.identity.apikeys import ApiKeys
from wrapper.identity.authorizer import authorize
from wrapper.identity.oidc import OidcLinks
from wrapper.identity.operators import PlatformOperators
from wrapper.identity.store import IdentityStore
from wrapper.identity.tokens import InvalidToken, Issuer, JwksCache, parse_issuers
from wrapper.settings import Settings
from wrapper.store.table import table_for

settings = Settings.from_environ()
logger = Logger()


def _fetch_jwks(jwks_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(jwks_url, timeout=2) as answer:  # noqa: S310 - a configured https/http JWKS URL
        document: dict[str, Any] = json.load(answer)
        return document


EXTERNAL_ISSUERS = parse_issuers(settings.oidc_issuers)
ISSUERS = (Issuer(issuer=settings.cognito_issuer, jwks_url=settings.cognito_jwks_url,
                  audiences=(settings.user_pool_client_id,), token_use="access"),  # noqa: S106
           *EXTERNAL_ISSUERS)
KEYS = JwksCache(_fetch_jwks)  # once per cold start: keys are cached across invocations
table = table_for(settings)
memberships = IdentityStore(table, outbox_ttl_days=settings.outbox_ttl_days)
api_keys = ApiKeys(table, outbox_ttl_days=settings.outbox_ttl_days)
operators = PlatformOperators(table)
external_users = OidcLinks(table, issuers=[i.issuer for i in EXTERNAL_ISSUERS],
                           user_id_by_email=memberships.user_id_by_email)


class UnauthorizedError(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")  # the message API Gateway turns into a 401


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return authorize(event, issuers=ISSUERS, keys=KEYS, memberships=memberships,
                         api_keys=api_keys, external_users=external_users, operators=operators)
    except InvalidToken as refused:
        logger.info("credential refused", extra={"reason": refused.reason})
        raise UnauthorizedError() from None
