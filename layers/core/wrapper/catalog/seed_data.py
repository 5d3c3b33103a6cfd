"""The small catalog ``make dev`` starts with, written through ``CatalogAdmin`` like any operator change.

Plans ``free`` (the default), ``pro``, ``enterprise`` and ``payg`` (usage paid in credits), the add-on
``extra-seats``, six features, five meters,
the coupon ``WELCOME20`` and three tax rates. ``seed_catalog`` is idempotent: what exists (by code,
or by country and region for tax rates) is left as it is, and a plan's prices are added only
when it has none, so a second run, or one racing another, changes nothing.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from wrapper.catalog.admin import CatalogAdmin
from wrapper.catalog.models import Plan
from wrapper.catalog.requests import NewCoupon, NewFeature, NewMeter, NewPlan, NewPrice, NewTaxRate
from wrapper.kernel.errors import Conflict
from wrapper.store.table import Table

SEEDED_BY = "seed"

METERS: list[dict[str, Any]] = [
    {"code": "api_calls", "name": "API calls", "event_name": "api_call", "aggregation": "count"},
    {"code": "tokens", "name": "Tokens", "event_name": "completion", "aggregation": "sum", "property": "tokens"},
    {"code": "peak_seats", "name": "Peak seats", "event_name": "seats_snapshot", "aggregation": "max",
     "property": "seats"},
    {"code": "active_users", "name": "Active users", "event_name": "api_call", "aggregation": "unique_count",
     "property": "user_id"},
    {"code": "storage_gb", "name": "Storage", "event_name": "storage_snapshot", "aggregation": "latest",
     "property": "gb"},
]

FEATURES: list[dict[str, Any]] = [
    {"code": "seats", "name": "Seats", "kind": "limit", "unit": "seats"},
    {"code": "api_calls", "name": "API calls", "kind": "metered", "unit": "calls", "meter": "api_calls"},
    {"code": "tokens", "name": "Tokens", "kind": "metered", "unit": "tokens", "meter": "tokens"},
    {"code": "storage_gb", "name": "Storage", "kind": "metered", "unit": "GB", "meter": "storage_gb"},
    {"code": "audit_log", "name": "Audit log", "kind": "boolean"},
    {"code": "sso", "name": "Single sign-on", "kind": "boolean"},
]

MONTH = {"unit": "month"}
YEAR = {"unit": "year"}

# (plan, its prices). Pro is a flat price per month or year (a year costs ten months), in USD and EUR.
PLANS: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
    ({"code": "free", "name": "Free", "description": "For trying Wrapper out.", "is_default": True,
      "entitlements": [{"feature": "seats", "limit": 3, "hard": True},
                       {"feature": "api_calls", "limit": 1000, "hard": False},
                       {"feature": "audit_log", "enabled": False}]},
     [{"interval": MONTH, "spec": {"model": "flat", "currency": "USD", "flat_amount": 0}}]),
    ({"code": "pro", "name": "Pro", "description": "For growing teams.", "trial_days": 14,
      "entitlements": [{"feature": "seats", "limit": 20, "hard": True},
                       {"feature": "api_calls", "limit": 100_000, "hard": False},
                       {"feature": "audit_log", "enabled": True}]},
     [{"interval": MONTH, "spec": {"model": "flat", "currency": "USD", "flat_amount": 2900}},
      {"interval": YEAR, "spec": {"model": "flat", "currency": "USD", "flat_amount": 29000}},
      {"interval": MONTH, "spec": {"model": "flat", "currency": "EUR", "flat_amount": 2700}}]),
    ({"code": "enterprise", "name": "Enterprise", "description": "Unlimited seats and calls, SSO.",
      "entitlements": [{"feature": "seats", "limit": None}, {"feature": "api_calls", "limit": None},
                       {"feature": "audit_log", "enabled": True}, {"feature": "sso", "enabled": True}]},
     [{"interval": MONTH, "spec": {"model": "flat", "currency": "USD", "flat_amount": 19900}},
      # Usage billed in arrears: the first million tokens of a month are included, then 0.1 cent per 1,000.
      {"interval": MONTH, "spec": {"model": "graduated", "currency": "USD", "meter": "tokens", "tiers": [
          {"up_to": 1_000_000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.0001"}]}}]),
    ({"code": "payg", "name": "Pay as you go", "description": "No monthly fee: API calls and tokens spend credits.",
      "credit_overdraft": "100",
      "entitlements": [{"feature": "seats", "limit": 5, "hard": True},
                       {"feature": "api_calls", "limit": None, "credit_rate": "0.01"},
                       {"feature": "tokens", "limit": None, "credit_rate": "0.002"},
                       {"feature": "audit_log", "enabled": True}]},
     [{"interval": MONTH, "spec": {"model": "flat", "currency": "USD", "flat_amount": 0}}]),
    ({"code": "extra-seats", "name": "Extra seats", "description": "Seats beyond the plan's, per seat.",
      "kind": "addon", "entitlements": [{"feature": "seats", "limit": 1}]},
     [{"interval": MONTH, "spec": {"model": "per_unit", "currency": "USD", "unit_amount": "800"}}]),
]

COUPONS: list[dict[str, Any]] = [
    {"code": "WELCOME20", "name": "Welcome, 20% off for 3 periods", "percent_off": 20, "duration": "repeating",
     "duration_in_periods": 3},
]

TAX_RATES: list[dict[str, Any]] = [
    {"name": "DE VAT", "percentage": "19", "inclusive": False, "country": "DE"},
    {"name": "FR VAT", "percentage": "20", "inclusive": False, "country": "FR"},
    {"name": "California sales tax", "percentage": "7.25", "inclusive": False, "country": "US", "region": "US-CA"},
]


def seed_catalog(table: Table, *, by: str = SEEDED_BY, outbox_ttl_days: int = 7) -> dict[str, Plan]:
    """Write the seed catalog where it is missing; answers the seeded plans by code, with active prices.
    A Conflict means another seed run got there first: what it wrote is the same seed."""
    admin = CatalogAdmin(table, outbox_ttl_days=outbox_ttl_days)
    catalog = admin.catalog
    for meter in METERS:
        if catalog.meter(meter["code"]) is None:
            with suppress(Conflict):
                admin.create_meter(NewMeter(**meter), by=by)
    for feature in FEATURES:
        if catalog.feature(feature["code"]) is None:
            with suppress(Conflict):
                admin.create_feature(NewFeature(**feature), by=by)
    for plan_fields, prices in PLANS:
        if catalog.plan_by_code(plan_fields["code"]) is None:
            with suppress(Conflict):
                admin.create_plan(NewPlan(**plan_fields), by=by)
        plan = catalog.plan_by_code(plan_fields["code"])
        if plan is not None and not catalog.prices(plan.id):
            for price in prices:
                with suppress(Conflict):
                    admin.add_price(plan.id, NewPrice(**price), by=by)
    for coupon in COUPONS:
        if catalog.coupon(coupon["code"]) is None:
            with suppress(Conflict):
                admin.create_coupon(NewCoupon(**coupon), by=by)
    active_rates = {(r.country, r.region) for r in catalog.tax_rates() if r.active}
    for rate in TAX_RATES:
        if (rate["country"], rate.get("region")) not in active_rates:
            with suppress(Conflict):
                admin.create_tax_rate(NewTaxRate(**rate), by=by)
    seeded = {p["code"]: catalog.plan_by_code(p["code"], with_prices=True) for p, _ in PLANS}
    return {code: plan for code, plan in seeded.items() if plan is not None}
