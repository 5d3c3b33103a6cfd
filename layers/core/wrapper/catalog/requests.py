"""What an operator's catalog request may ask for: the bodies of the catalog's writes, validated before
anything is read or written. A PATCH sets only what it names."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, field_validator, model_validator

from wrapper.catalog.models import Code, CouponDuration, Entitlement, FeatureKind, Meter, PlanKind
from wrapper.kernel.model import Model
from wrapper.money.amounts import currency_code
from wrapper.money.periods import Interval
from wrapper.money.pricing import PriceSpec

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _refuse_nulls(data: Any, nullable: frozenset[str] = frozenset()) -> Any:
    """A PATCH sets what it names: ``null`` clears a field only where clearing means something."""
    if isinstance(data, dict):
        nulled = sorted(k for k, v in data.items() if v is None and k not in nullable)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
    return data


def _exact_number(value: Any) -> Any:
    # A JSON number with a fraction is a binary float: 7.25 may not be 7.25. Decimals come as strings.
    if isinstance(value, float | bool):
        raise ValueError("must be a decimal string or an integer, not a float or a boolean")
    return value


class NewFeature(Model):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    kind: FeatureKind
    unit: str | None = Field(default=None, max_length=32)
    meter: Code | None = Field(default=None, description="Required for a metered feature, refused otherwise")
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _meter_fits_kind(self) -> NewFeature:
        if self.kind == FeatureKind.METERED and self.meter is None:
            raise ValueError("a metered feature needs a meter")
        if self.kind != FeatureKind.METERED and self.meter is not None:
            raise ValueError(f"a {self.kind} feature has no meter")
        return self


class FeatureUpdate(Model):
    """A feature's kind and meter never change: plans and usage rely on them."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    unit: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, frozenset({"unit", "description"}))


class NewMeter(Meter):
    """A meter as the operator creates it. What it counts (event name, aggregation, property,
    filter) never changes afterwards: aggregates already written were counted by it."""


class MeterUpdate(Model):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    active: bool | None = Field(default=None, description="An inactive meter counts no new events")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, frozenset({"name"}))


class NewPlan(Model):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="Unique and permanent: subscriptions and clients name plans by it")
    name: Name
    description: str | None = Field(default=None, max_length=1000)
    kind: PlanKind = PlanKind.BASE
    public: bool = True
    is_default: bool = Field(default=False, description="The base plan new tenants start on; unsets the previous")
    trial_days: int = Field(default=0, ge=0, le=365)
    entitlements: list[Entitlement] = Field(default_factory=list, max_length=100)
    credit_overdraft: Decimal = Field(default=Decimal(0), ge=0, le=1_000_000_000, decimal_places=6,
                                      description="Credits a tenant's wallet may go below zero")
    unpaid_action: Literal["cancel", "unpaid"] = Field(
        default="cancel", description="When dunning gives up on an invoice: cancel to the default plan, or stay unpaid")


class PlanUpdate(Model):
    """Optimistic concurrency: send the plan's ``version`` as read, in this field or as the
    ``If-Match`` header; a plan changed since answers 409."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=1000)
    public: bool | None = None
    is_default: bool | None = None
    trial_days: int | None = Field(default=None, ge=0, le=365)
    entitlements: list[Entitlement] | None = Field(default=None, max_length=100)
    credit_overdraft: Decimal | None = Field(default=None, ge=0, le=1_000_000_000, decimal_places=6)
    unpaid_action: Literal["cancel", "unpaid"] | None = None
    status: Literal["active", "archived"] | None = None
    version: int | None = Field(default=None, ge=1, description="The version you read (or send If-Match)")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, frozenset({"description"}))


class NewPrice(Model):
    model_config = ConfigDict(extra="forbid")

    interval: Interval
    spec: PriceSpec
    replaces: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$",
                                 description="A price of this plan that this one supersedes: it is retired")


class NewCoupon(Model):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,48}$")] = Field(
        description="Case-insensitive; stored upper-case")
    name: str | None = Field(default=None, max_length=100)
    percent_off: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=4,
                                        description="An integer or a decimal string (\"12.5\"), never a float")
    amount_off: int | None = Field(default=None, gt=0, strict=True, description="Minor units of currency")
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    duration: CouponDuration
    duration_in_periods: int | None = Field(default=None, ge=1, le=120, strict=True)
    max_redemptions: int | None = Field(default=None, ge=1, strict=True)
    expires_at: AwareDatetime | None = Field(default=None, description="UTC ISO 8601, with its offset or Z")

    _exact_percent = field_validator("percent_off", mode="before")(_exact_number)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        return None if value is None else currency_code(value)

    @model_validator(mode="after")
    def _one_discount(self) -> NewCoupon:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off and amount_off")
        if (self.amount_off is None) != (self.currency is None):
            raise ValueError("amount_off and currency go together")
        if (self.duration == CouponDuration.REPEATING) != (self.duration_in_periods is not None):
            raise ValueError("duration_in_periods is required for a repeating coupon, and only for one")
        return self


class CouponUpdate(Model):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    name: str | None = Field(default=None, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, frozenset({"name"}))


class NewTaxRate(Model):
    model_config = ConfigDict(extra="forbid")

    name: Name
    percentage: Decimal = Field(ge=0, le=100, decimal_places=4,
                                description="An integer or a decimal string (\"7.25\"), never a float")
    inclusive: bool
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
    region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")] | None = Field(
        default=None, description="ISO 3166-2 subdivision of the country, e.g. US-CA")

    _exact_percentage = field_validator("percentage", mode="before")(_exact_number)

    @model_validator(mode="after")
    def _region_in_country(self) -> NewTaxRate:
        self.country = self.country.upper()
        if self.region is not None:
            self.region = self.region.upper()
            if not self.region.startswith(f"{self.country}-"):
                raise ValueError(f"region {self.region} is not in country {self.country}")
        return self


class TaxRateUpdate(Model):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    name: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return _refuse_nulls(data, frozenset())
