"""Typed configuration, parsed once per cold start.

Logic never reads ``os.environ``: each function's composition module (its ``app.py`` or its
``*_wiring.py``) calls ``Settings.from_environ()`` once at import (once per cold start) and passes
on what the logic needs. The aliases are the environment variables that template.yaml sets. What
only some functions use is grouped: ``settings.stripe`` (the SDK's key and API base),
``settings.webhooks`` (Stripe's signing secret and the queue events wait in), ``settings.credits``
(what a credit costs) and ``settings.invoice_pdfs`` (where invoice PDFs are kept, and the issuer they name).

These are plain Pydantic models read from the environment by ``from_environ``, not pydantic-settings:
its sources (dotenv, secrets directories, CLI) cost a cold start more than the variables it would read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wrapper import __version__


class _FromEnvironment(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def _variables(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """The environment variables named by this group's fields (by alias), as given."""
        return {field.alias: environ[field.alias] for field in cls.model_fields.values()
                if field.alias is not None and field.alias in environ}


class StripeSettings(_FromEnvironment):
    """Where the Stripe SDK talks to and which key it uses.

    ``STRIPE_API_BASE`` points the SDK at the local Stripe server (empty on AWS: Stripe itself).
    ``STRIPE_SECRET_KEY_PARAMETER`` names an SSM SecureString; the key is fetched on first use
    (``wrapper.subscriptions.settings.LazyPayments``)."""

    api_base: str = Field(default="", alias="STRIPE_API_BASE")
    secret_key_parameter: str = Field(default="/wrapper/stripe/secret-key", alias="STRIPE_SECRET_KEY_PARAMETER")


class WebhookSettings(_FromEnvironment):
    """What the Stripe webhook functions read: the signing secret and the queue received events wait in."""

    # An SSM SecureString: one signing secret, or two comma-separated while rotating.
    webhook_secret_parameter: str = Field(default="/wrapper/stripe/webhook-secret",
                                          alias="STRIPE_WEBHOOK_SECRET_PARAMETER")
    events_queue_url: str = Field(default="", alias="STRIPE_EVENTS_QUEUE_URL")


class CreditSettings(_FromEnvironment):
    """What one credit costs a tenant who buys credits: minor units of the currency."""

    unit_amount: int = Field(default=1, ge=1, alias="CREDIT_UNIT_AMOUNT")
    currency: str = Field(default="USD", min_length=3, max_length=3, alias="CREDIT_CURRENCY")


class InvoicePdfSettings(_FromEnvironment):
    """Invoice PDFs: the private bucket they are kept in, and the issuer (the platform) printed on them.
    The issuer's address is one line per ``|``-separated part (``1 Main St|Springfield, IL 62701|US``)."""

    bucket: str = Field(default="", alias="INVOICE_PDF_BUCKET")
    issuer_name: str = Field(default="Wrapper", min_length=1, alias="INVOICE_ISSUER_NAME")
    issuer_address: str = Field(default="", alias="INVOICE_ISSUER_ADDRESS")
    issuer_tax_id: str = Field(default="", alias="INVOICE_ISSUER_TAX_ID")

    @property
    def issuer_address_lines(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.issuer_address.split("|") if line.strip())


class Settings(_FromEnvironment):
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
    # Where emails come from (an SES identity) and the web app their links (and Checkout's returns) open.
    email_sender: str = Field(default="no-reply@wrapper.localhost", alias="EMAIL_SENDER")
    app_url: str = Field(default="http://localhost:5173", alias="APP_URL")
    # Other OIDC identity providers the authorizer accepts, beside the user pool: a JSON list of
    # {"issuer", "audiences", "jwks_url", "algorithms"?, "leeway_seconds"?} (wrapper.identity.tokens.parse_issuers).
    oidc_issuers: str = Field(default="[]", alias="OIDC_ISSUERS")
    # Invoice numbers run <prefix>-<year>-<n>, without gaps per prefix and year (wrapper.invoices.store).
    invoice_number_prefix: str = Field(default="INV", pattern=r"^[A-Z0-9]{1,12}$", alias="INVOICE_NUMBER_PREFIX")
    # The billing-run state machine the operator starts runs of, and whether a run may bill a day that has not
    # come yet (the local stage: so that any period's billing can be run by hand).
    billing_run_state_machine_arn: str = Field(default="", alias="BILLING_RUN_STATE_MACHINE_ARN")
    allow_future_billing_runs: bool = Field(default=False, alias="ALLOW_FUTURE_BILLING_RUNS")
    # Days after an invoice's first failed charge on which it is charged again (wrapper.billing.dunning).
    dunning_retry_days: str = Field(default="3,7,14", pattern=r"^\d{1,3}(,\d{1,3}){0,9}$", alias="DUNNING_RETRY_DAYS")

    @property
    def dunning_schedule(self) -> tuple[int, ...]:
        return tuple(sorted({int(day) for day in self.dunning_retry_days.split(",")}))

    stripe: StripeSettings = Field(default_factory=StripeSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    credits: CreditSettings = Field(default_factory=CreditSettings)
    invoice_pdfs: InvoicePdfSettings = Field(default_factory=InvoicePdfSettings)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Every group, from one reading of the environment (``os.environ`` unless given)."""
        environ = os.environ if environ is None else environ
        return cls.model_validate({**cls._variables(environ),
                                   "stripe": StripeSettings._variables(environ),
                                   "webhooks": WebhookSettings._variables(environ),
                                   "credits": CreditSettings._variables(environ),
                                   "invoice_pdfs": InvoicePdfSettings._variables(environ)})

    @property
    def billing_page(self) -> str:
        """Where Checkout and the billing portal send the customer back: the web app's billing page."""
        return f"{self.app_url.rstrip('/')}/billing"

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
