"""Per-tenant fixed-window limits: who is admitted, and what the caller is told."""

from __future__ import annotations

import pytest

from wrapper.api.ratelimit import TIER_LIMITS, Limit, consume
from wrapper.kernel.errors import LimitExceeded


class Counter:
    def __init__(self) -> None:
        self.hits: dict[tuple[str, int], int] = {}

    def hit(self, tenant_id: str, window_start: int, *, expires_at: int) -> int:
        assert expires_at > window_start
        key = (tenant_id, window_start)
        self.hits[key] = self.hits.get(key, 0) + 1
        return self.hits[key]


LIMITS = {"free": Limit(3, 60), "pro": Limit(5, 60)}


def test_requests_up_to_the_limit_are_admitted_and_told_what_is_left() -> None:
    counter = Counter()
    quotas = [consume(counter, "acme", "free", 120.0, LIMITS) for _ in range(3)]
    assert [q.remaining for q in quotas] == [2, 1, 0]
    assert quotas[0].headers() == {"RateLimit-Limit": "3", "RateLimit-Remaining": "2", "RateLimit-Reset": "60"}


def test_the_request_past_the_limit_is_refused_with_retry_after_the_window() -> None:
    counter = Counter()
    for _ in range(3):
        consume(counter, "acme", "free", 130.0, LIMITS)
    with pytest.raises(LimitExceeded) as refused:
        consume(counter, "acme", "free", 130.0, LIMITS)
    assert refused.value.retry_after_seconds == 50
    assert refused.value.headers["RateLimit-Remaining"] == "0"


def test_a_new_window_starts_afresh() -> None:
    counter = Counter()
    for _ in range(3):
        consume(counter, "acme", "free", 179.0, LIMITS)
    assert consume(counter, "acme", "free", 180.0, LIMITS).remaining == 2


def test_tenants_are_counted_apart() -> None:
    counter = Counter()
    for _ in range(3):
        consume(counter, "acme", "free", 0.0, LIMITS)
    assert consume(counter, "globex", "free", 0.0, LIMITS).remaining == 2


def test_the_tier_sets_the_limit_and_an_unknown_tier_gets_free() -> None:
    assert consume(Counter(), "acme", "pro", 0.0, LIMITS).limit == 5
    assert consume(Counter(), "acme", "mystery", 0.0, LIMITS).limit == 3


def test_the_free_tier_allows_800_requests_per_15_minutes() -> None:
    assert TIER_LIMITS["free"] == Limit(800, 900)
