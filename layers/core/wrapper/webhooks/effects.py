"""Adapters of the ``EventEffects`` port (``wrapper.webhooks.consumer``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wrapper.kernel.clock import Clock, now
from wrapper.payments.port import Payments
from wrapper.store.table import Table


class SubscriptionEffects:
    """The subscriptions domain's ``apply_stripe_event(event, *, table, catalog, payments, now)``, bound to this
    function's table and catalog. Payments are connected when the first event is applied, not at import: a
    cold start for a malformed batch never reads the Stripe key."""

    def __init__(self, apply_event: Callable[..., str], *, table: Table, catalog: Any,
                 connect_payments: Callable[[], Payments], clock: Clock = now) -> None:
        self._apply_event = apply_event
        self._table = table
        self._catalog = catalog
        self._connect_payments = connect_payments
        self._payments: Payments | None = None
        self._clock = clock

    def apply(self, event: dict[str, Any]) -> str:
        if self._payments is None:
            self._payments = self._connect_payments()
        return self._apply_event(event, table=self._table, catalog=self._catalog, payments=self._payments,
                                 now=self._clock())


class NoEffects:
    """Settles events without changing anything (a deployment without a domain that consumes Stripe events)."""

    def apply(self, event: dict[str, Any]) -> str:
        return "no effects"
