"""The platform catalog: plans (base plans and add-ons) with versioned prices, features and the
entitlements plans give, coupons and tax rates. The platform operator manages it; tenants read
the public part. Prices are immutable: changing a price adds a new version and retires the old
one for new subscriptions, while existing subscriptions keep the price id they were sold.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from wrapper.kernel.model import Model
from wrapper.money.periods import Interval
from wrapper.money.pricing import PriceSpec

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,47}$")]


class PlanKind(StrEnum):
    BASE = "base"
    ADDON = "addon"


class FeatureKind(StrEnum):
    BOOLEAN = "boolean"  # on or off
    LIMIT = "limit"  # a number the tenant may not exceed (seats, projects)
    METERED = "metered"  # counted from usage events by a meter (#5); may have a limit per period


class Feature(Model):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    kind: FeatureKind
    unit: str | None = Field(default=None, max_length=32, description="What a limit counts: seats, calls, GB")
    meter: Code | None = Field(default=None, description="The meter a metered feature counts (usage, #5)")
    description: str | None = Field(default=None, max_length=500)


class Aggregation(StrEnum):
    COUNT = "count"  # events
    SUM = "sum"  # of a numeric property
    MAX = "max"  # of a numeric property
    UNIQUE_COUNT = "unique_count"  # distinct values of a property
    LATEST = "latest"  # the numeric property of the period's latest event (by timestamp, then event id)


PropertyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
FilterValue = Annotated[str, StringConstraints(max_length=256)] | int | bool


class Meter(Model):
    """How usage events become a number per period: events named ``event_name`` whose properties
    equal every ``filter`` entry, aggregated over ``property`` (none for ``count``)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    event_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    aggregation: Aggregation
    property: PropertyName | None = None
    filter: dict[PropertyName, FilterValue] = Field(default_factory=dict, max_length=10)
    active: bool = True

    @model_validator(mode="after")
    def _property_fits_aggregation(self) -> Meter:
        if self.aggregation == Aggregation.COUNT and self.property is not None:
            raise ValueError("a count meter aggregates no property")
        if self.aggregation != Aggregation.COUNT and self.property is None:
            raise ValueError(f"a {self.aggregation} meter needs a property")
        return self


class Entitlement(Model):
    """What a plan gives of one feature. ``enabled`` for boolean features; ``limit`` for limit
    and metered ones (None: unlimited); ``hard`` refuses usage past the limit, soft only reports.
    For a metered feature, ``thresholds`` are the shares of the limit that publish
    ``usage.threshold_reached`` (default 80 and 100), and ``credit_rate`` makes each unit of its
    meter's usage consume that many credits from the tenant's wallet."""

    model_config = ConfigDict(extra="forbid")

    feature: Code
    enabled: bool = True
    limit: int | None = Field(default=None, ge=0)
    hard: bool = False
    thresholds: list[Annotated[int, Field(ge=1, le=1000)]] | None = Field(
        default=None, max_length=10, description="Percent of the limit, e.g. [50, 80, 100]; default [80, 100]")
    credit_rate: Decimal | None = Field(default=None, gt=0, le=1_000_000, max_digits=18, decimal_places=6,
                                        description="Credits one unit of usage consumes (count and sum meters)")

    @field_validator("thresholds")
    @classmethod
    def _distinct_sorted(cls, value: list[int] | None) -> list[int] | None:
        return sorted(set(value)) if value is not None else None


class Price(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    plan_id: str
    version: int = Field(ge=1)
    interval: Interval
    spec: PriceSpec
    active: bool = True
    created_at: datetime


class Plan(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    description: str | None = Field(default=None, max_length=1000)
    kind: PlanKind = PlanKind.BASE
    public: bool = True
    is_default: bool = Field(default=False, description="The plan a new tenant starts on (one base plan)")
    trial_days: int = Field(default=0, ge=0, le=365)
    entitlements: list[Entitlement] = Field(default_factory=list)
    credit_overdraft: Decimal = Field(default=Decimal(0), ge=0, description="Credits the wallet may go below zero")
    unpaid_action: Literal["cancel", "unpaid"] = Field(
        default="cancel", description="When dunning gives up on an invoice: cancel to the default plan, or stay unpaid")
    status: Literal["active", "archived"] = "active"
    version: int = Field(default=1, ge=1, description="Bumped by every change (optimistic concurrency)")
    created_at: datetime
    prices: list[Price] = Field(default_factory=list, description="Active prices, when read with them")


class CouponDuration(StrEnum):
    ONCE = "once"
    REPEATING = "repeating"  # for duration_in_periods billing periods
    FOREVER = "forever"


class Coupon(Model):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,48}$")]
    name: str | None = Field(default=None, max_length=100)
    percent_off: Decimal | None = Field(default=None, gt=0, le=100)
    amount_off: int | None = Field(default=None, gt=0, description="Minor units of currency")
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    duration: CouponDuration
    duration_in_periods: int | None = Field(default=None, ge=1, le=120)
    max_redemptions: int | None = Field(default=None, ge=1)
    times_redeemed: int = 0
    expires_at: datetime | None = None
    active: bool = True


class TaxRate(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    percentage: Decimal = Field(ge=0, le=100)
    inclusive: bool = False
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    region: str | None = Field(default=None, max_length=64, description="ISO 3166-2 subdivision, e.g. US-CA")
    active: bool = True


class PublicPrice(Model):
    """A price as tenants see it: what they would be charged, nothing of its history."""

    id: str
    interval: Interval
    spec: PriceSpec


class PublicPlan(Model):
    """A plan as tenants see it (``GET /v1/plans``): no status, versions or operator fields."""

    id: str
    code: str
    name: str
    description: str | None = None
    kind: PlanKind
    trial_days: int
    entitlements: list[Entitlement]
    prices: list[PublicPrice]

    @classmethod
    def of(cls, plan: Plan) -> PublicPlan:
        return cls(id=plan.id, code=plan.code, name=plan.name, description=plan.description, kind=plan.kind,
                   trial_days=plan.trial_days, entitlements=plan.entitlements,
                   prices=[PublicPrice(id=p.id, interval=p.interval, spec=p.spec) for p in plan.prices if p.active])
