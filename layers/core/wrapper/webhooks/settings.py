"""What the webhook function reads from its environment, beside ``wrapper.settings.Settings`` (the Stripe key
and API base are ``wrapper.subscriptions.settings.StripeSettings``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # An SSM SecureString: one signing secret, or two comma-separated while rotating.
    webhook_secret_parameter: str = Field(default="/wrapper/stripe/webhook-secret",
                                          alias="STRIPE_WEBHOOK_SECRET_PARAMETER")
    events_queue_url: str = Field(default="", alias="STRIPE_EVENTS_QUEUE_URL")
