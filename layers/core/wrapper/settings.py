"""Typed configuration, parsed once per cold start.

Logic never reads ``os.environ``: a function's ``app.py`` builds ``Settings()`` once at
module level (once per cold start) and passes what the logic needs. The names are the
environment variables that template.yaml sets.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wrapper import __version__


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    stage: str = Field(default="local", alias="STAGE")
    version: str = Field(default=__version__, alias="WRAPPER_VERSION")
    table_name: str = Field(default="wrapper", alias="TABLE_NAME")
    event_bus_name: str = Field(default="wrapper", alias="EVENT_BUS_NAME")
    event_source: str = Field(default="wrapper", alias="EVENT_SOURCE")
    # Comma-separated queue URLs the health check probes.
    health_queue_urls: str = Field(default="", alias="HEALTH_QUEUE_URLS")
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    outbox_ttl_days: int = Field(default=7, alias="OUTBOX_TTL_DAYS")
    cors_allow_origin: str = Field(default="*", alias="CORS_ALLOW_ORIGIN")
    user_pool_id: str = Field(default="", alias="USER_POOL_ID")
    user_pool_client_id: str = Field(default="", alias="USER_POOL_CLIENT_ID")
    # Tenant-scoped credentials (wrapper.tenancy.scoping): the role to assume and the table it is for.
    tenant_access_role_arn: str = Field(default="", alias="TENANT_ACCESS_ROLE_ARN")
    table_arn: str = Field(default="", alias="TABLE_ARN")
    # Where emails come from (an SES identity) and the web app their links open.
    email_sender: str = Field(default="no-reply@wrapper.localhost", alias="EMAIL_SENDER")
    app_url: str = Field(default="http://localhost:5173", alias="APP_URL")
    # Other OIDC identity providers the authorizer accepts, beside the user pool: a JSON list of
    # {"issuer", "audiences", "jwks_url", "algorithms"?, "leeway_seconds"?} (wrapper.identity.tokens.parse_issuers).
    oidc_issuers: str = Field(default="[]", alias="OIDC_ISSUERS")

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.aws_region}.amazonaws.com/{self.user_pool_id}"

    @property
    def cognito_jwks_url(self) -> str:
        # Locally the user pool's keys are served by the AWS endpoint (moto), not by Cognito.
        if self.aws_endpoint_url:
            return f"{self.aws_endpoint_url.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{self.cognito_issuer}/.well-known/jwks.json"

    @property
    def queue_urls(self) -> list[str]:
        return [url for url in self.health_queue_urls.split(",") if url]

