"""What an operator's catalog request may say: the request models and the rules they keep."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from wrapper.catalog.models import Entitlement, Feature, Plan, Price, PublicPlan
from wrapper.catalog.requests import FeatureUpdate, NewCoupon, NewFeature, NewPlan, NewPrice, NewTaxRate, PlanUpdate
from wrapper.catalog.rules import check_entitlements, check_plan, expected_version
from wrapper.kernel.errors import InvalidInput

FEATURES = {f.code: f for f in (Feature(code="sso", name="SSO", kind="boolean"),
                                Feature(code="seats", name="Seats", kind="limit"),
                                Feature(code="calls", name="Calls", kind="metered", meter="calls"))}


@pytest.mark.parametrize("entitlements", [
    [{"feature": "sso"}, {"feature": "sso", "enabled": False}],
    [{"feature": "sso", "limit": 2}],
    [{"feature": "sso", "hard": True}],
    [{"feature": "nope"}],
], ids=["twice", "limit-on-boolean", "hard-on-boolean", "unknown"])
def test_entitlements_that_do_not_fit_the_features_are_refused(entitlements: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidInput):
        check_entitlements([Entitlement(**e) for e in entitlements], FEATURES)


def test_entitlements_that_fit_pass() -> None:
    check_entitlements([Entitlement(feature="sso", enabled=False), Entitlement(feature="seats", limit=5, hard=True),
                        Entitlement(feature="calls", limit=None)], FEATURES)


@pytest.mark.parametrize(("if_match", "in_body", "expected"), [
    ('"3"', None, 3), ('W/"3"', None, 3), ("3", None, 3), (None, 4, 4), ('"5"', 5, 5)])
def test_the_expected_version_comes_from_if_match_or_the_body(if_match: str | None, in_body: int | None,
                                                               expected: int) -> None:
    assert expected_version(if_match, in_body) == expected


@pytest.mark.parametrize(("if_match", "in_body"), [(None, None), ('"x"', None), ('"2"', 3), ("*", None)])
def test_a_missing_malformed_or_contradictory_version_is_refused(if_match: str | None, in_body: int | None) -> None:
    with pytest.raises(InvalidInput):
        expected_version(if_match, in_body)


def test_an_add_on_or_archived_plan_is_never_the_default() -> None:
    base = {"id": "p", "code": "p", "name": "P", "created_at": datetime(2026, 1, 1, tzinfo=UTC), "is_default": True}
    check_plan(Plan(**base))
    for changed in ({"kind": "addon"}, {"status": "archived"}):
        with pytest.raises(InvalidInput):
            check_plan(Plan(**{**base, **changed}))


@pytest.mark.parametrize("body", [
    {"code": "calls", "name": "Calls", "kind": "metered"},
    {"code": "sso", "name": "SSO", "kind": "boolean", "meter": "sso"},
    {"code": "Sso", "name": "SSO", "kind": "boolean"},
    {"code": "sso", "name": "", "kind": "boolean"},
], ids=["metered-no-meter", "meter-on-boolean", "upper-code", "empty-name"])
def test_bad_features_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewFeature(**body)


def test_a_patch_may_clear_a_description_but_not_null_a_name() -> None:
    assert PlanUpdate.model_validate({"description": None}).model_dump(exclude_unset=True) == {"description": None}
    assert FeatureUpdate.model_validate({"unit": None}).model_dump(exclude_unset=True) == {"unit": None}
    for body in ({"name": None}, {"entitlements": None}, {"is_default": None}):
        with pytest.raises(ValidationError):
            PlanUpdate.model_validate(body)


def test_a_plan_update_never_names_a_code_or_kind() -> None:
    for body in ({"code": "x"}, {"kind": "addon"}, {"id": "x"}):
        with pytest.raises(ValidationError):
            PlanUpdate.model_validate(body)


@pytest.mark.parametrize("spec", [
    {"model": "per_unit", "currency": "USD", "unit_amount": 0.5},
    {"model": "flat", "currency": "USD", "flat_amount": 1.5},
    {"model": "flat", "currency": "USD", "unit_amount": "1"},
], ids=["float-unit", "float-flat", "inconsistent"])
def test_prices_refuse_floats_and_inconsistent_specs(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewPrice.model_validate({"interval": {"unit": "month"}, "spec": spec})


def test_a_decimal_string_unit_amount_is_kept_exactly() -> None:
    price = NewPrice.model_validate({"interval": {"unit": "year"},
                                     "spec": {"model": "per_unit", "currency": "usd", "unit_amount": "0.0125"}})
    assert price.spec.unit_amount == Decimal("0.0125") and price.spec.currency == "USD"


@pytest.mark.parametrize("body", [
    {"percent_off": 10, "amount_off": 5, "currency": "USD", "duration": "once"},
    {"duration": "once"},
    {"amount_off": 5, "duration": "once"},
    {"percent_off": 10, "currency": "USD", "duration": "once"},
    {"percent_off": 10, "duration": "repeating"},
    {"percent_off": 10, "duration": "forever", "duration_in_periods": 3},
    {"percent_off": 10.5, "duration": "once"},
    {"percent_off": "0", "duration": "once"},
    {"amount_off": "5", "currency": "USD", "duration": "once"},
    {"percent_off": 10, "duration": "once", "expires_at": "2030-01-01T00:00:00"},
], ids=["both", "neither", "no-currency", "currency-alone", "no-periods", "periods-forever", "float", "zero",
        "string-amount", "naive-expiry"])
def test_bad_coupons_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewCoupon.model_validate({"code": "X", **body})


def test_a_repeating_coupon_takes_its_periods() -> None:
    coupon = NewCoupon.model_validate({"code": "x", "percent_off": "12.5", "duration": "repeating",
                                       "duration_in_periods": 3})
    assert coupon.percent_off == Decimal("12.5")


@pytest.mark.parametrize("body", [
    {"percentage": 7.25, "country": "US"},
    {"percentage": "5", "country": "US", "region": "CA-QC"},
    {"percentage": "5", "country": "USA"},
    {"percentage": "-1", "country": "US"},
], ids=["float", "region-elsewhere", "country-shape", "negative"])
def test_bad_tax_rates_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewTaxRate.model_validate({"name": "T", "inclusive": False, **body})


def test_a_tax_rates_country_and_region_are_upper_cased() -> None:
    rate = NewTaxRate.model_validate({"name": "T", "percentage": "7.25", "inclusive": False, "country": "us",
                                      "region": "us-ca"})
    assert (rate.country, rate.region) == ("US", "US-CA")


def test_the_public_view_of_a_plan_shows_only_active_prices_and_no_internals() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    spec = {"model": "flat", "currency": "USD", "flat_amount": 100}
    prices = [Price(id=f"r{n}", plan_id="p", version=n, interval={"unit": "month"}, spec=spec, active=n == 2,
                    created_at=at) for n in (1, 2)]
    plan = Plan(id="p", code="pro", name="Pro", public=False, created_at=at, prices=prices)

    shown = PublicPlan.of(plan).model_dump(mode="json")

    assert [p["id"] for p in shown["prices"]] == ["r2"]
    assert not {"status", "version", "public", "is_default", "created_at"} & set(shown)


def test_new_plan_defaults() -> None:
    plan = NewPlan(code="pro", name="  Pro  ")
    assert (plan.name, plan.kind, plan.public, plan.is_default, plan.trial_days) == ("Pro", "base", True, False, 0)
