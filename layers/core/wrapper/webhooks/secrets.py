"""The webhook signing secrets, fetched once per cold start and refetched when a signature fails.

The value is one secret, or two comma-separated while rotating (Stripe signs with both for a while). A
failed verification refetches, so a rotation is picked up without a deploy; at most once per
``refetch_interval`` seconds, so a flood of forged requests costs one parameter read, not one per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wrapper.payments.webhooks import MAX_SECRETS, InvalidSignature, verify


def parse_secrets(value: str) -> list[str]:
    secrets = [part.strip() for part in value.split(",") if part.strip()]
    if not 1 <= len(secrets) <= MAX_SECRETS:
        raise ValueError(f"the webhook secret parameter holds {len(secrets)} secrets; 1 or {MAX_SECRETS} expected")
    return secrets


def ssm_secret_fetcher(ssm_client: Any, parameter_name: str) -> Callable[[], str]:
    def fetch() -> str:
        answer = ssm_client.get_parameter(Name=parameter_name, WithDecryption=True)
        return str(answer["Parameter"]["Value"])

    return fetch


class WebhookSecrets:
    def __init__(self, fetch: Callable[[], str], *, refetch_interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._refetch_interval = refetch_interval
        self._clock = clock
        self._secrets: list[str] | None = None
        self._fetched_at = 0.0

    def _load(self) -> list[str]:
        self._secrets = parse_secrets(self._fetch())
        self._fetched_at = self._clock()
        return self._secrets

    def verify(self, payload: bytes, header: str | None, *, now: float) -> dict[str, Any]:
        """The verified event (``wrapper.payments.webhooks.verify``); InvalidSignature otherwise."""
        secrets = self._secrets if self._secrets is not None else self._load()
        try:
            return verify(payload, header, secrets, now=now)
        except InvalidSignature:
            if not header or self._clock() - self._fetched_at < self._refetch_interval:
                raise
            if self._load() == secrets:
                raise
        return verify(payload, header, self._secrets or [], now=now)
