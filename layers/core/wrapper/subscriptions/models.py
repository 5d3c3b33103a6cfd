"""The subscription record, what requests may ask for, and what the API answers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from wrapper.catalog.models import Code, FeatureKind
from wrapper.kernel.model import Model

Status = Literal["trialing", "active", "past_due", "unpaid", "paused", "canceled", "incomplete"]
IntervalUnit = Literal["month", "year"]
ChangeKindName = Literal["subscribe", "upgrade", "downgrade", "unchanged", "interval_switch", "trial"]
CouponCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,48}$")]
Seats = Annotated[StrictInt, Field(ge=1, le=100_000)]
# Statuses under which the tenant uses what its plan gives; any other falls back to the default plan.
ENTITLED: frozenset[str] = frozenset({"trialing", "active", "past_due"})


class Addon(Model):
    model_config = ConfigDict(extra="forbid")

    plan_id: str
    plan_code: str
    price_id: str | None
    quantity: int = Field(ge=1)


class ScheduledChange(Model):
    """A change that takes effect at ``at`` (a period end): a downgrade, fewer seats, a switch to a
    shorter interval. The billing run applies it (``apply_scheduled_changes``)."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str
    plan_code: str
    price_id: str | None
    interval: IntervalUnit
    seats: int
    at: datetime


class CouponState(Model):
    """The coupon a subscription redeemed, with its discount terms as they were when redeemed."""

    model_config = ConfigDict(extra="forbid")

    code: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    periods_left: int | None = Field(default=None, description="Periods the discount still covers, the current "
                                                                  "one included; null: forever")


class Subscription(Model):
    model_config = ConfigDict(extra="forbid")

    id: str
    tenant_id: str
    plan_id: str
    plan_code: str
    price_id: str | None
    interval: IntervalUnit
    currency: str
    seats: int
    status: Status
    anchor: datetime
    timezone: str
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    scheduled_change: ScheduledChange | None = None
    coupon: CouponState | None = None
    addons: list[Addon] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 1


# -- requests ---------------------------------------------------------------------------------------------------

class AddonRequest(Model):
    model_config = ConfigDict(extra="forbid")

    plan_code: Code
    quantity: Seats = 1


class SubscribeRequest(Model):
    """Start a plan with a new billing period from now (from the default plan, or after a cancel)."""

    model_config = ConfigDict(extra="forbid")

    plan_code: Code
    interval: IntervalUnit = "month"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = "USD"
    seats: Seats = 1
    coupon: CouponCode | None = None
    addons: list[AddonRequest] = Field(default_factory=list, max_length=20)


class ChangeRequest(Model):
    """Change the current subscription's plan, interval or seats (what is left out stays)."""

    model_config = ConfigDict(extra="forbid")

    plan_code: Code | None = None
    interval: IntervalUnit | None = None
    seats: Seats | None = None

    @model_validator(mode="after")
    def _asks_for_something(self) -> ChangeRequest:
        if self.plan_code is None and self.interval is None and self.seats is None:
            raise ValueError("name at least one of plan_code, interval, seats")
        return self


class CancelRequest(Model):
    model_config = ConfigDict(extra="forbid")

    at_period_end: StrictBool = True


class CheckoutRequest(Model):
    """Only ``setup`` is asked for: payment sessions are created by the changes that need a payment."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["setup"]


# -- answers ----------------------------------------------------------------------------------------------------

class PreviewLine(Model):
    description: str
    amount: int


class ChangePreview(Model):
    kind: ChangeKindName
    effective_at: datetime
    lines: list[PreviewLine]
    subtotal: int = Field(description="Sum of the lines, minor units")
    discount: int = Field(description="What the coupon takes off the subtotal (never below 0 due)")
    tax: int = Field(default=0, description="Tax of the billing address on what is due (exclusive rates add it)")
    amount_due: int = Field(description="Charged now; 0 when the change waits for the period end")
    currency: str
    period_start: datetime
    period_end: datetime


class SubscriptionChange(Model):
    subscription: Subscription
    preview: ChangePreview
    payment_id: str | None = Field(default=None, description="The payment that paid the change, if any")


class EntitlementView(Model):
    feature: str
    kind: FeatureKind
    enabled: bool
    limit: int | None
    hard: bool
    source: Literal["plan", "addon"]
    thresholds: list[int] | None = Field(default=None, description="Percents of the limit that notify; "
                                                                    "none: the default 80 and 100")
    credit_rate: Decimal | None = Field(default=None, description="Credits one unit of usage consumes")


class Entitlements(Model):
    items: list[EntitlementView]


class CheckoutLink(Model):
    id: str
    url: str


class PortalLink(Model):
    url: str
