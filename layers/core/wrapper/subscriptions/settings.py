"""The Stripe adapter, connected on first use.

``STRIPE_SECRET_KEY_PARAMETER`` (``wrapper.settings.StripeSettings``) names an SSM SecureString; the key
is fetched on first use, with decryption, and kept for the life of the execution environment (a rotated
key reaches a function at its next cold start).
"""

from __future__ import annotations

import threading
from typing import Any

from wrapper.payments.port import Payments
from wrapper.settings import StripeSettings


class LazyPayments:
    """The Stripe adapter, built on first use: a request that never moves money never reads the key, and a
    cold start never imports the Stripe SDK (and the HTTP libraries it brings) until a payment call needs it."""

    def __init__(self, settings: StripeSettings, ssm_client: Any) -> None:
        self.settings = settings
        self.ssm = ssm_client
        self._payments: Payments | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Payments:
        with self._lock:
            if self._payments is None:
                from wrapper.payments.stripe_adapter import StripePayments

                answer = self.ssm.get_parameter(Name=self.settings.secret_key_parameter, WithDecryption=True)
                self._payments = StripePayments.connect(str(answer["Parameter"]["Value"]),
                                                        api_base=self.settings.api_base or None)
            return self._payments
