"""The catalog over HTTP, as the platform operator builds it and tenants read it: features, plans
with entitlements, immutable price versions, coupons, tax rates, the public plan list; bad input,
duplicates and stale versions refused with problem+json and nothing written.

The catalog is one platform partition shared by the whole session, so every test makes its own
codes and asserts about what it made, never about totals."""

from __future__ import annotations

import json
import random
import string
import threading
import uuid
from typing import Any

import pytest
import requests

from tests.support import answered, call, refused, signup, table, wait_for
from wrapper.catalog.seed_data import seed_catalog
from wrapper.identity.operators import grant_operator
from wrapper.store.schema import CATALOG_PK

PROBLEM = "application/problem+json"
USD_MONTH = {"interval": {"unit": "month"}, "spec": {"model": "flat", "currency": "USD", "flat_amount": 1500}}


def _code(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _catalog(cloud: Any) -> list[str]:
    items, start = [], None
    while True:
        page, start = table(cloud).query(CATALOG_PK, limit=100, start_key=start)
        items.extend(page)
        if not start:
            return sorted(repr(sorted(i.items())) for i in items)


@pytest.fixture(scope="module")
def op(cloud: Any) -> dict[str, Any]:
    session = signup(cloud, "Catalog operator")
    grant_operator(table(cloud), session["user_id"])
    return session


@pytest.fixture(scope="module")
def features(cloud: Any, op: dict[str, Any]) -> dict[str, str]:
    """One feature of each kind, made for this module."""
    made = {}
    for kind, extra in (("boolean", {}), ("limit", {"unit": "seats"}), ("metered", {"meter": "api_calls"})):
        code = _code("f")
        answered(call(cloud, "POST", "/v1/admin/features", op, body={"code": code, "name": kind.title(), "kind": kind,
                                                                 **extra}), 201)
        made[kind] = code
    return made


def _plan(cloud: Any, op: dict[str, Any], **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = answered(call(cloud, "POST", "/v1/admin/plans", op,
                                       body={"code": _code(), "name": "A plan", **fields}), 201)
    return created


def _public(cloud: Any) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in answered(call(cloud, "GET", "/v1/plans", None), 200)["items"]}


# --- plans, prices and the public catalog ----------------------------------------------------------

def test_the_operator_builds_a_plan_and_tenants_see_it_in_the_public_catalog(
        cloud: Any, op: dict[str, Any], features: dict[str, str]) -> None:
    # Given a plan with an entitlement of each kind, a flat price and a per-unit price in decimals
    entitlements = [{"feature": features["boolean"], "enabled": True},
                    {"feature": features["limit"], "limit": 10, "hard": True},
                    {"feature": features["metered"], "limit": 5000}]
    plan = _plan(cloud, op, description="For tests", trial_days=7, entitlements=entitlements)
    assert plan["version"] == 1 and plan["status"] == "active" and plan["prices"] == []
    flat = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=USD_MONTH), 201)
    per_call = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body={
        "interval": {"unit": "year"}, "spec": {"model": "per_unit", "currency": "eur", "unit_amount": "0.0125"}}), 201)
    assert (flat["version"], per_call["version"]) == (1, 2)
    assert per_call["spec"]["currency"] == "EUR" and per_call["spec"]["unit_amount"] == "0.0125"

    # When a tenant reads the public catalog, without credentials
    shown = _public(cloud)[plan["code"]]

    # Then it sees the plan's id, code, terms and active prices, and nothing of the operator's
    assert shown["id"] == plan["id"]
    assert set(shown) == {"id", "code", "name", "description", "kind", "trial_days", "entitlements", "prices"}
    assert shown["trial_days"] == 7 and len(shown["entitlements"]) == 3
    assert {p["id"] for p in shown["prices"]} == {flat["id"], per_call["id"]}
    assert set(shown["prices"][0]) == {"id", "interval", "spec"}

    # And the operator's view has the same plan, with its version and prices
    read = call(cloud, "GET", f"/v1/admin/plans/{plan['id']}", op)
    assert answered(read, 200)["prices"] == [flat, per_call]
    assert read.headers["ETag"] == '"1"'
    listed = {p["id"]: p for p in answered(call(cloud, "GET", "/v1/admin/plans", op), 200)["items"]}
    assert len(listed[plan["id"]]["prices"]) == 2


def test_a_new_price_version_retires_the_one_it_replaces_which_stays_readable(
        cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    old = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=USD_MONTH), 201)

    new = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body={
        **USD_MONTH, "spec": {**USD_MONTH["spec"], "flat_amount": 1900}, "replaces": old["id"]}), 201)

    assert new["version"] == old["version"] + 1 and new["active"]
    versions = answered(call(cloud, "GET", f"/v1/admin/plans/{plan['id']}", op), 200)["prices"]
    assert [(p["id"], p["active"]) for p in versions] == [(old["id"], False), (new["id"], True)]
    assert versions[0]["spec"]["flat_amount"] == 1500  # the old price is never edited
    assert [p["id"] for p in _public(cloud)[plan["code"]]["prices"]] == [new["id"]]
    # Replacing a retired price again is refused, and writes nothing
    before = _catalog(cloud)
    refused(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op,
                  body={**USD_MONTH, "replaces": old["id"]}), 409)
    assert _catalog(cloud) == before


def test_retiring_a_price_is_idempotent_and_hides_it_from_the_public(cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    price = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=USD_MONTH), 201)
    path = f"/v1/admin/plans/{plan['id']}/prices/{price['id']}"

    first, again = call(cloud, "DELETE", path, op), call(cloud, "DELETE", path, op)

    assert answered(first, 200)["active"] is False and answered(again, 200) == first.json()
    assert _public(cloud)[plan["code"]]["prices"] == []
    assert answered(call(cloud, "GET", f"/v1/admin/plans/{plan['id']}", op), 200)["prices"][0]["id"] == price["id"]


def test_a_price_is_found_only_under_its_own_plan(cloud: Any, op: dict[str, Any]) -> None:
    plan, other = _plan(cloud, op), _plan(cloud, op)
    price = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=USD_MONTH), 201)
    refused(call(cloud, "DELETE", f"/v1/admin/plans/{other['id']}/prices/{price['id']}", op), 404)
    refused(call(cloud, "POST", f"/v1/admin/plans/{other['id']}/prices", op,
                  body={**USD_MONTH, "replaces": price["id"]}), 422)
    assert answered(call(cloud, "GET", f"/v1/admin/plans/{plan['id']}", op), 200)["prices"][0]["active"] is True


def test_private_and_archived_plans_are_listed_for_the_operator_only(cloud: Any, op: dict[str, Any]) -> None:
    private = _plan(cloud, op, public=False)
    archived = _plan(cloud, op)
    answered(call(cloud, "PATCH", f"/v1/admin/plans/{archived['id']}", op,
                  body={"status": "archived", "version": 1}), 200)

    public = _public(cloud)
    assert private["code"] not in public and archived["code"] not in public
    listed = {p["id"]: p["status"] for p in answered(call(cloud, "GET", "/v1/admin/plans", op), 200)["items"]}
    assert listed[private["id"]] == "active" and listed[archived["id"]] == "archived"
    # An archived plan takes no new price
    refused(call(cloud, "POST", f"/v1/admin/plans/{archived['id']}/prices", op, body=USD_MONTH), 409)


def test_the_seeded_catalog_has_free_as_default_and_the_default_cannot_be_archived(
        cloud: Any, op: dict[str, Any]) -> None:
    seeded = seed_catalog(table(cloud))
    public = _public(cloud)
    assert {"free", "pro", "enterprise"} <= set(public)
    assert seeded["free"].is_default and public["free"]["id"] == seeded["free"].id
    assert {(p["spec"]["currency"], p["interval"]["unit"]) for p in public["pro"]["prices"]} == {
        ("USD", "month"), ("USD", "year"), ("EUR", "month")}
    before = _catalog(cloud)
    refused(call(cloud, "PATCH", f"/v1/admin/plans/{seeded['free'].id}", op,
                  body={"status": "archived", "version": seeded["free"].version}), 422)
    assert _catalog(cloud) == before
    assert seed_catalog(table(cloud)) == seed_catalog(table(cloud))  # idempotent


def test_an_add_on_is_never_the_default(cloud: Any, op: dict[str, Any]) -> None:
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/plans", op,
                  body={"code": _code(), "name": "Add-on", "kind": "addon", "is_default": True}), 422)
    assert _catalog(cloud) == before


# --- optimistic concurrency -------------------------------------------------------------------------

def test_a_patch_needs_the_current_version_in_the_body_or_if_match(cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    path = f"/v1/admin/plans/{plan['id']}"

    renamed = call(cloud, "PATCH", path, op, body={"name": "Renamed", "version": 1})
    assert answered(renamed, 200)["version"] == 2 and renamed.headers["ETag"] == '"2"'
    assert answered(call(cloud, "PATCH", path, op, body={"trial_days": 30}, headers={"If-Match": '"2"'}),
               200)["version"] == 3

    before = _catalog(cloud)
    assert "version 3" in refused(call(cloud, "PATCH", path, op, body={"name": "Stale", "version": 1}),
                                   409)["detail"]
    refused(call(cloud, "PATCH", path, op, body={"name": "No version"}), 422)
    refused(call(cloud, "PATCH", path, op, body={"name": "Disagree", "version": 3}, headers={"If-Match": '"2"'}),
             422)
    refused(call(cloud, "PATCH", path, op, body={"code": "renamed", "version": 3}), 422)  # the code never changes
    assert _catalog(cloud) == before
    assert answered(call(cloud, "GET", path, op), 200)["name"] == "Renamed"


def test_concurrent_patches_from_the_same_version_one_wins(cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    answers: list[requests.Response] = []

    def rename(n: int) -> None:
        answers.append(call(cloud, "PATCH", f"/v1/admin/plans/{plan['id']}", op,
                            body={"name": f"Name {n}", "version": 1}))

    threads = [threading.Thread(target=rename, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert answered(call(cloud, "GET", f"/v1/admin/plans/{plan['id']}", op), 200)["name"] == winner["name"]


def test_concurrent_prices_never_share_a_version(cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(
        call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=USD_MONTH))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {a.status_code for a in answers} <= {201, 409}
    made = [a.json()["version"] for a in answers if a.status_code == 201]
    assert made and len(made) == len(set(made))
    stored = answered(call(cloud, "GET", f"/v1/admin/plans/{plan['id']}", op), 200)["prices"]
    assert sorted(p["version"] for p in stored) == sorted(made)


# --- bad input ---------------------------------------------------------------------------------------

PRICE_SPEC = {"model": "per_unit", "currency": "USD", "unit_amount": "0.5"}


@pytest.mark.parametrize(("body", "status"), [
    ({**USD_MONTH, "spec": {**PRICE_SPEC, "unit_amount": 0.0125}}, 422),           # a float
    ({**USD_MONTH, "spec": {"model": "flat", "currency": "USD", "unit_amount": "1"}}, 422),  # inconsistent
    ({**USD_MONTH, "spec": {"model": "graduated", "currency": "USD",
                            "tiers": [{"up_to": 10, "unit_amount": "1"}]}}, 422),    # last tier bounded
    ({**USD_MONTH, "spec": {**PRICE_SPEC, "currency": "XXQ"}}, 422),
    ({"interval": {"unit": "week"}, "spec": PRICE_SPEC}, 422),
    ({"spec": PRICE_SPEC}, 422),                                                    # missing interval
    ({**USD_MONTH, "active": False}, 422),                                          # extra field
    ({**USD_MONTH, "replaces": "not-a-price"}, 422),
    ('{"interval": {"unit": "month"}, "spec": ', 400),                               # invalid JSON
], ids=["float", "inconsistent", "bounded-last-tier", "currency", "interval", "missing", "extra", "replaces",
        "json"])
def test_a_bad_price_is_a_problem_and_writes_nothing(cloud: Any, op: dict[str, Any], body: Any,
                                                     status: int) -> None:
    plan = _plan(cloud, op)
    before = _catalog(cloud)
    refused(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=body), status)
    assert _catalog(cloud) == before


@pytest.mark.parametrize(("body", "status"), [
    ({"name": "No code"}, 422),
    ({"code": "Upper", "name": "Bad code"}, 422),
    ({"code": "ok", "name": "Extra", "id": "01J0SAMP1E0000000000000000"}, 422),
    ({"code": "ok", "name": "Wrong type", "trial_days": "many"}, 422),
    ({"code": "ok", "name": "Unknown feature", "entitlements": [{"feature": "no_such_feature"}]}, 422),
    ({"code": "ok", "name": "Bad kind", "kind": "bundle"}, 422),
    ("not json", 400),
], ids=["missing-code", "bad-code", "extra", "wrong-type", "unknown-feature", "bad-kind", "json"])
def test_a_bad_plan_is_a_problem_and_writes_nothing(cloud: Any, op: dict[str, Any], body: Any,
                                                    status: int) -> None:
    if isinstance(body, dict) and body.get("code") == "ok":
        body = {**body, "code": _code()}
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/plans", op, body=body), status)
    assert _catalog(cloud) == before


def test_entitlements_must_fit_the_features_kind(cloud: Any, op: dict[str, Any], features: dict[str, str]) -> None:
    before = _catalog(cloud)
    problem = refused(call(cloud, "POST", "/v1/admin/plans", op, body={
        "code": _code(), "name": "Misfit", "entitlements": [{"feature": features["boolean"], "limit": 3},
                                                            {"feature": features["limit"]},
                                                            {"feature": features["limit"], "limit": 2}]}), 422)
    assert [e["field"] for e in problem["errors"]] == ["entitlements.0", "entitlements.2"]
    assert _catalog(cloud) == before


def test_a_duplicate_plan_code_is_409_and_writes_nothing(cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/plans", op, body={"code": plan["code"], "name": "Again"}), 409)
    assert _catalog(cloud) == before


def test_unknown_ids_are_404_and_malformed_ones_422(cloud: Any, op: dict[str, Any]) -> None:
    missing = "01J0SAMP1E0000000000000000"
    refused(call(cloud, "GET", f"/v1/admin/plans/{missing}", op), 404)
    refused(call(cloud, "PATCH", f"/v1/admin/plans/{missing}", op, body={"name": "x", "version": 1}), 404)
    refused(call(cloud, "POST", f"/v1/admin/plans/{missing}/prices", op, body=USD_MONTH), 404)
    refused(call(cloud, "GET", "/v1/admin/plans/not-an-id", op), 422)
    refused(call(cloud, "PATCH", f"/v1/admin/features/{_code()}", op, body={"name": "x"}), 404)
    refused(call(cloud, "PATCH", "/v1/admin/coupons/NOPE-NONE", op, body={"active": False}), 404)
    refused(call(cloud, "PATCH", f"/v1/admin/tax-rates/{missing}", op, body={"active": False}), 404)


# --- features --------------------------------------------------------------------------------------

def test_a_feature_is_renamed_but_its_kind_never_changes(cloud: Any, op: dict[str, Any],
                                                         features: dict[str, str]) -> None:
    path = f"/v1/admin/features/{features['limit']}"
    changed = answered(call(cloud, "PATCH", path, op, body={"name": "Team seats", "description": "People"}), 200)
    assert changed["name"] == "Team seats" and changed["kind"] == "limit" and changed["unit"] == "seats"
    before = _catalog(cloud)
    refused(call(cloud, "PATCH", path, op, body={"kind": "boolean"}), 422)
    refused(call(cloud, "PATCH", path, op, body={"name": None}), 422)
    assert _catalog(cloud) == before
    listed = {f["code"]: f for f in answered(call(cloud, "GET", "/v1/admin/features", op), 200)["items"]}
    assert listed[features["limit"]]["name"] == "Team seats"


@pytest.mark.parametrize("body", [
    {"name": "Calls", "kind": "metered"},                          # no meter
    {"name": "Flag", "kind": "boolean", "meter": "api_calls"},     # a meter on a boolean
    {"name": "Odd", "kind": "percentage"},
    {"name": "Extra", "kind": "boolean", "enabled": True},
], ids=["metered-without-meter", "meter-on-boolean", "kind", "extra"])
def test_a_bad_feature_is_422_and_writes_nothing(cloud: Any, op: dict[str, Any], body: dict[str, Any]) -> None:
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/features", op, body={"code": _code("f"), **body}), 422)
    assert _catalog(cloud) == before


def test_a_duplicate_feature_code_is_409(cloud: Any, op: dict[str, Any], features: dict[str, str]) -> None:
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/features", op,
                  body={"code": features["boolean"], "name": "Again", "kind": "boolean"}), 409)
    assert _catalog(cloud) == before


# --- coupons ---------------------------------------------------------------------------------------

def test_coupon_codes_are_case_insensitive(cloud: Any, op: dict[str, Any]) -> None:
    code = _code("c")
    coupon = answered(call(cloud, "POST", "/v1/admin/coupons", op, body={
        "code": code, "percent_off": "12.5", "duration": "repeating", "duration_in_periods": 3}), 201)
    assert coupon["code"] == code.upper() and coupon["percent_off"] == "12.5"

    refused(call(cloud, "POST", "/v1/admin/coupons", op, body={"code": code.upper(), "amount_off": 500,
                                                                 "currency": "USD", "duration": "once"}), 409)
    off = answered(call(cloud, "PATCH", f"/v1/admin/coupons/{code}", op, body={"active": False, "name": "Gone"}), 200)
    assert off["active"] is False and off["name"] == "Gone"
    listed = {c["code"]: c for c in answered(call(cloud, "GET", "/v1/admin/coupons", op), 200)["items"]}
    assert listed[code.upper()]["active"] is False


def test_an_amount_off_coupon_carries_its_currency(cloud: Any, op: dict[str, Any]) -> None:
    coupon = answered(call(cloud, "POST", "/v1/admin/coupons", op, body={
        "code": _code("c"), "amount_off": 500, "currency": "eur", "duration": "forever", "max_redemptions": 10,
        "expires_at": "2030-01-01T00:00:00Z"}), 201)
    assert (coupon["amount_off"], coupon["currency"], coupon["max_redemptions"]) == (500, "EUR", 10)


@pytest.mark.parametrize("body", [
    {"percent_off": 10, "amount_off": 100, "currency": "USD", "duration": "once"},   # both
    {"duration": "once"},                                                            # neither
    {"amount_off": 100, "duration": "once"},                                         # no currency
    {"percent_off": 10, "currency": "USD", "duration": "once"},                      # currency without amount
    {"percent_off": 10, "duration": "repeating"},                                    # no periods
    {"percent_off": 10, "duration": "once", "duration_in_periods": 2},               # periods not repeating
    {"percent_off": 12.5, "duration": "once"},                                       # a float
    {"percent_off": 120, "duration": "once"},
    {"percent_off": 10, "duration": "once", "expires_at": "2030-01-01T00:00:00"},    # naive
    {"percent_off": 10, "duration": "once", "times_redeemed": 5},                    # not settable
], ids=["both", "neither", "no-currency", "currency-alone", "no-periods", "periods-once", "float", "over-100",
        "naive-expiry", "extra"])
def test_a_bad_coupon_is_422_and_writes_nothing(cloud: Any, op: dict[str, Any], body: dict[str, Any]) -> None:
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/coupons", op, body={"code": _code("c"), **body}), 422)
    assert _catalog(cloud) == before


# --- tax rates -------------------------------------------------------------------------------------

def _region() -> str:
    return "US-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=3))


def test_one_active_tax_rate_per_region(cloud: Any, op: dict[str, Any]) -> None:
    region = _region()
    body = {"name": "Sales tax", "percentage": "7.25", "inclusive": False, "country": "us", "region": region.lower()}
    first = answered(call(cloud, "POST", "/v1/admin/tax-rates", op, body=body), 201)
    assert (first["country"], first["region"], first["percentage"]) == ("US", region, "7.25")

    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/tax-rates", op, body=body), 409)
    assert _catalog(cloud) == before

    answered(call(cloud, "PATCH", f"/v1/admin/tax-rates/{first['id']}", op, body={"active": False}), 200)
    second = answered(call(cloud, "POST", "/v1/admin/tax-rates", op, body={**body, "percentage": "8"}), 201)
    refused(call(cloud, "PATCH", f"/v1/admin/tax-rates/{first['id']}", op, body={"active": True}), 409)
    listed = {r["id"]: r["active"] for r in answered(call(cloud, "GET", "/v1/admin/tax-rates", op), 200)["items"]}
    assert listed[first["id"]] is False and listed[second["id"]] is True


@pytest.mark.parametrize("body", [
    {"name": "Float", "percentage": 7.25, "inclusive": False, "country": "US"},
    {"name": "Elsewhere", "percentage": "5", "inclusive": False, "country": "US", "region": "CA-QC"},
    {"name": "No country", "percentage": "5", "inclusive": False},
    {"name": "Too much", "percentage": "101", "inclusive": False, "country": "US"},
    {"name": "Extra", "percentage": "5", "inclusive": False, "country": "US", "active": True},
], ids=["float", "region-elsewhere", "no-country", "over-100", "extra"])
def test_a_bad_tax_rate_is_422_and_writes_nothing(cloud: Any, op: dict[str, Any], body: dict[str, Any]) -> None:
    before = _catalog(cloud)
    refused(call(cloud, "POST", "/v1/admin/tax-rates", op, body=body), 422)
    assert _catalog(cloud) == before


def test_a_non_json_body_is_400_on_every_admin_write(cloud: Any, op: dict[str, Any]) -> None:
    before = _catalog(cloud)
    for path in ("/v1/admin/features", "/v1/admin/coupons", "/v1/admin/tax-rates"):
        problem = refused(call(cloud, "POST", path, op, body="{"), 400)
        assert json.dumps(problem)  # a problem document, not a stack trace
    assert _catalog(cloud) == before


# --- catalog events and the platform audit log --------------------------------------------------------

def _platform_audit(cloud: Any, session: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = answered(call(cloud, "GET", "/v1/admin/audit-log", session, **params))["items"]
    return items


def test_catalog_changes_reach_the_platform_audit_log_through_the_bus(cloud: Any, op: dict[str, Any]) -> None:
    plan = _plan(cloud, op)
    price = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body=USD_MONTH), 201)
    answered(call(cloud, "DELETE", f"/v1/admin/plans/{plan['id']}/prices/{price['id']}", op))

    def logged() -> list[tuple[str, str]]:
        found = [(e["action"], e["target"]) for e in _platform_audit(cloud, op, limit=100)
                 if e["target"] in (plan["id"], price["id"])]
        return found if len(found) == 3 else []

    # Newest first, each once, by the operator who made it
    assert wait_for(logged, message="the catalog events") == [
        ("price.retired", price["id"]), ("price.created", price["id"]), ("plan.created", plan["id"])]
    retired = _platform_audit(cloud, op, action="price.retired", limit=100)
    assert {e["target"] for e in retired} >= {price["id"]} and {e["action"] for e in retired} == {"price.retired"}
    assert all(e["actor"] == op["user_id"] for e in retired if e["target"] == price["id"])


def test_only_the_operator_reads_the_platform_audit_log_and_tenants_never_see_it(
        cloud: Any, op: dict[str, Any]) -> None:
    owner = signup(cloud, "Curious owner")
    plan = _plan(cloud, op)
    wait_for(lambda: [e for e in _platform_audit(cloud, op, limit=100) if e["target"] == plan["id"]],
             message="the plan's event")

    refused(call(cloud, "GET", "/v1/admin/audit-log", owner), 403)
    refused(call(cloud, "GET", "/v1/admin/audit-log", owner, tenant=owner["tenant_id"]), 403)
    own = wait_for(lambda: answered(call(cloud, "GET", "/v1/audit-log", owner, limit=100))["items"],
                   message="the owner's own audit entries")
    assert not [e for e in own if e["action"].startswith(("plan.", "price."))]
    # The operator's own tenant log has none of them either
    theirs = answered(call(cloud, "GET", "/v1/audit-log", op, limit=100))["items"]
    assert not [e for e in theirs if e["target"] == plan["id"]]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"action": "NotAType"}, {"from": "yesterday"},
                                    {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
                                    {"cursor": "not-a-cursor"}])
def test_bad_platform_audit_queries_are_4xx_problems(cloud: Any, op: dict[str, Any], params: dict[str, Any]) -> None:
    refused(call(cloud, "GET", "/v1/admin/audit-log", op, **params), 400, 422)
