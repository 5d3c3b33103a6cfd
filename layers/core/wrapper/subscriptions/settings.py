"""Where the Stripe SDK talks to and which key it uses, parsed once per cold start.

``STRIPE_API_BASE`` points the SDK at the local Stripe server (empty on AWS: Stripe itself).
``STRIPE_SECRET_KEY_PARAMETER`` names an SSM SecureString; the key is fetched on first use, with
decryption, and kept for the life of the execution environment (a rotated key reaches a function
at its next cold start).
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wrapper.payments.port import Payments
from wrapper.payments.stripe_adapter import StripePayments


class StripeSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    api_base: str = Field(default="", alias="STRIPE_API_BASE")
    secret_key_parameter: str = Field(default="/wrapper/stripe/secret-key", alias="STRIPE_SECRET_KEY_PARAMETER")
    # Where Checkout and the portal send the customer back: the web app's billing page.
    app_url: str = Field(default="http://localhost:5173", alias="APP_URL")
    # What one credit costs a tenant who buys credits: minor units of the currency.
    credit_unit_amount: int = Field(default=1, ge=1, alias="CREDIT_UNIT_AMOUNT")
    credit_currency: str = Field(default="USD", min_length=3, max_length=3, alias="CREDIT_CURRENCY")

    @property
    def billing_page(self) -> str:
        return f"{self.app_url.rstrip('/')}/billing"


class LazyPayments:
    """The Stripe adapter, built on first use: a request that never moves money never reads the key."""

    def __init__(self, settings: StripeSettings, ssm_client: Any) -> None:
        self.settings = settings
        self.ssm = ssm_client
        self._payments: Payments | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Payments:
        with self._lock:
            if self._payments is None:
                answer = self.ssm.get_parameter(Name=self.settings.secret_key_parameter, WithDecryption=True)
                self._payments = StripePayments.connect(str(answer["Parameter"]["Value"]),
                                                        api_base=self.settings.api_base or None)
            return self._payments
