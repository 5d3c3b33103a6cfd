"""Per-tenant request limits by plan tier, counted atomically in DynamoDB.

A fixed window per tenant (``TENANT#<id>`` / ``RATE#<window start>``, one atomic ``ADD`` per
request, expiring with the window). Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining``
and ``RateLimit-Reset``; past the limit, 429 with ``Retry-After``. API Gateway's stage
throttling still guards the whole API in front of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from wrapper.kernel.clock import fixed_window
from wrapper.kernel.errors import LimitExceeded
from wrapper.store.schema import rate_sk, tenant_pk
from wrapper.store.table import Table


@dataclass(frozen=True)
class Limit:
    requests: int
    window_seconds: int = 900


# The seeds' number for the free tier: 800 requests per 15 minutes.
TIER_LIMITS: Mapping[str, Limit] = {"free": Limit(800), "pro": Limit(5_000), "enterprise": Limit(20_000)}


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds)}


class RequestCounter(Protocol):
    def hit(self, tenant_id: str, window_start: int, *, expires_at: int) -> int:
        """Count one request in the window; answer the window's count including it."""
        ...


def consume(counter: RequestCounter, tenant_id: str, tier: str, now: float,
            limits: Mapping[str, Limit] = TIER_LIMITS) -> Quota:
    limit = limits.get(tier, limits["free"])
    window_start, reset = fixed_window(now, limit.window_seconds)
    count = counter.hit(tenant_id, window_start, expires_at=window_start + 2 * limit.window_seconds)
    quota = Quota(limit=limit.requests, remaining=max(0, limit.requests - count), reset_seconds=reset)
    if count > limit.requests:
        raise LimitExceeded(f"This tenant made more than {limit.requests} requests in {limit.window_seconds} s.",
                            retry_after_seconds=reset, headers=quota.headers())
    return quota


class DynamoRequestCounter:
    def __init__(self, table: Table) -> None:
        self.table = table

    def hit(self, tenant_id: str, window_start: int, *, expires_at: int) -> int:
        count = self.table.increment(tenant_pk(tenant_id), rate_sk(window_start), "hits", expires_at=expires_at,
                                     record_type="rate_window")
        assert count is not None  # unconditional: always counted
        return count
