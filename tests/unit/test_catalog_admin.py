"""The operator's catalog writes against a moto table with DynamoDB's all-or-nothing transactions:
the default plan swaps in one write, price versions count up per plan, a replaced price retires with
its successor, one active tax rate per region, stale versions refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.dynamodb import patch_transactions
from tests.unit.builders import wrapper_table
from wrapper.catalog.admin import CatalogAdmin
from wrapper.catalog.models import Plan
from wrapper.catalog.requests import (
    CouponUpdate,
    FeatureUpdate,
    MeterUpdate,
    NewCoupon,
    NewFeature,
    NewMeter,
    NewPlan,
    NewPrice,
    NewTaxRate,
    PlanUpdate,
    TaxRateUpdate,
)
from wrapper.catalog.seed_data import FEATURES, PLANS, seed_catalog
from wrapper.catalog.store import item_of
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.store.schema import CATALOG_PK, OUTBOX_SK_PREFIX, PLATFORM_OUTBOX_PK, plan_sk
from wrapper.store.table import Table

AT = datetime(2026, 1, 31, 12, tzinfo=UTC)
MONTHLY_USD = {"interval": {"unit": "month"}, "spec": {"model": "flat", "currency": "USD", "flat_amount": 900}}


@pytest.fixture
def admin() -> Iterator[CatalogAdmin]:
    patch_transactions()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        wrapper_table(client)
        ids = count(1)
        yield CatalogAdmin(Table(client, "wrapper"), outbox_ttl_days=1, clock=lambda: AT,
                           new_id=lambda: f"01J{next(ids):023d}")


def test_making_a_plan_the_default_unsets_the_previous_in_the_same_write(admin: CatalogAdmin) -> None:
    first = admin.create_plan(NewPlan(code="first", name="First", is_default=True), by="op")
    second = admin.create_plan(NewPlan(code="second", name="Second", is_default=True), by="op")

    assert admin.catalog.default_plan() == second
    old = admin.catalog.plan(first.id)
    assert old is not None and not old.is_default and old.version == 2
    third = admin.create_plan(NewPlan(code="third", name="Third"), by="op")
    admin.update_plan(third.id, PlanUpdate(is_default=True), if_match='"1"', by="op")
    assert [p.code for p in admin.catalog.plans() if p.is_default] == ["third"]


def test_a_default_written_without_the_pointer_is_still_swapped_out(admin: CatalogAdmin) -> None:
    # Given a default plan put straight into the table, as a fixture does (no version, no pointer)
    legacy = Plan(id="plan_legacy", code="legacy", name="Legacy", is_default=True, created_at=AT)
    admin.table.put(item_of(legacy, plan_sk(legacy.id), "plan"))

    newer = admin.create_plan(NewPlan(code="newer", name="Newer", is_default=True), by="op")

    assert [p.id for p in admin.catalog.plans() if p.is_default] == [newer.id]
    admin.update_plan(legacy.id, PlanUpdate(name="Legacy, renamed", version=2), if_match=None, by="op")
    admin.update_plan(newer.id, PlanUpdate(is_default=False, version=1), if_match=None, by="op")
    assert admin.catalog.default_plan() is None


def test_unsetting_the_default_leaves_no_default(admin: CatalogAdmin) -> None:
    plan = admin.create_plan(NewPlan(code="only", name="Only", is_default=True), by="op")
    admin.update_plan(plan.id, PlanUpdate(is_default=False, version=1), if_match=None, by="op")
    assert admin.catalog.default_plan() is None
    admin.update_plan(plan.id, PlanUpdate(is_default=True, version=2), if_match=None, by="op")
    assert admin.catalog.default_plan() is not None


def test_a_default_chosen_while_another_request_changes_the_old_default_is_refused(
        admin: CatalogAdmin, monkeypatch: pytest.MonkeyPatch) -> None:
    first = admin.create_plan(NewPlan(code="first", name="First", is_default=True), by="op")
    second = admin.create_plan(NewPlan(code="second", name="Second"), by="op")
    transact = admin.table.transact

    def after_a_racing_rename(operations: Any) -> None:
        # Another request renames the old default between this one's reads and its write
        monkeypatch.setattr(admin.table, "transact", transact)
        admin.update_plan(first.id, PlanUpdate(name="Renamed meanwhile", version=1), if_match=None, by="other")
        transact(operations)

    monkeypatch.setattr(admin.table, "transact", after_a_racing_rename)
    with pytest.raises(Conflict):
        admin.update_plan(second.id, PlanUpdate(is_default=True, version=1), if_match=None, by="op")

    assert admin.catalog.default_plan() == admin.catalog.plan(first.id)
    still = admin.catalog.plan(second.id)
    assert still is not None and not still.is_default and still.version == 1


def test_price_versions_count_up_per_plan_and_replace_retires(admin: CatalogAdmin) -> None:
    plan = admin.create_plan(NewPlan(code="pro", name="Pro"), by="op")
    other = admin.create_plan(NewPlan(code="other", name="Other"), by="op")
    v1 = admin.add_price(plan.id, NewPrice(**MONTHLY_USD), by="op")
    assert admin.add_price(other.id, NewPrice(**MONTHLY_USD), by="op").version == 1
    v2 = admin.add_price(plan.id, NewPrice(**MONTHLY_USD, replaces=v1.id), by="op")

    assert (v1.version, v2.version) == (1, 2)
    assert [(p.id, p.active) for p in admin.catalog.prices(plan.id)] == [(v1.id, False), (v2.id, True)]
    with pytest.raises(Conflict):
        admin.add_price(plan.id, NewPrice(**MONTHLY_USD, replaces=v1.id), by="op")
    assert len(admin.catalog.prices(plan.id)) == 2


def test_a_usage_price_names_a_known_meter_and_is_never_the_plan_fee(admin: CatalogAdmin) -> None:
    plan = admin.create_plan(NewPlan(code="pro", name="Pro"), by="op")
    tokens = {"interval": {"unit": "month"},
              "spec": {"model": "per_unit", "currency": "USD", "unit_amount": "0.01", "meter": "tokens"}}
    with pytest.raises(InvalidInput, match="No such meter"):
        admin.add_price(plan.id, NewPrice(**tokens), by="op")
    admin.create_meter(NewMeter(code="tokens", event_name="llm.call", aggregation="sum", property="tokens"), by="op")
    fee = admin.add_price(plan.id, NewPrice(**MONTHLY_USD), by="op")
    usage = admin.add_price(plan.id, NewPrice(**tokens), by="op")

    assert admin.catalog.active_price(plan.id, currency="USD", interval_unit="month") == fee
    assert admin.catalog.usage_prices(plan.id, currency="USD", interval_unit="month") == [usage]
    assert admin.catalog.usage_prices(plan.id, currency="EUR", interval_unit="month") == []


def test_retiring_twice_is_one_retirement(admin: CatalogAdmin) -> None:
    plan = admin.create_plan(NewPlan(code="pro", name="Pro"), by="op")
    price = admin.add_price(plan.id, NewPrice(**MONTHLY_USD), by="op")
    assert not admin.retire_price(plan.id, price.id, by="op").active
    assert not admin.retire_price(plan.id, price.id, by="op").active
    with pytest.raises(NotFound):
        admin.retire_price(plan.id, "01J0SAMP1E0000000000000000", by="op")


def test_a_stale_version_is_409_and_changes_nothing(admin: CatalogAdmin) -> None:
    plan = admin.create_plan(NewPlan(code="pro", name="Pro"), by="op")
    admin.update_plan(plan.id, PlanUpdate(name="Pro 2"), if_match="1", by="op")
    with pytest.raises(Conflict, match="version 2, not 1"):
        admin.update_plan(plan.id, PlanUpdate(name="Lost update"), if_match='W/"1"', by="op")
    current = admin.catalog.plan(plan.id)
    assert current is not None and current.name == "Pro 2"
    item = admin.table.get(CATALOG_PK, plan_sk(plan.id))
    assert item is not None and item["updated_by"] == "op" and item["version"] == 2


def test_entitlements_are_checked_against_the_features(admin: CatalogAdmin) -> None:
    admin.create_feature(NewFeature(code="sso", name="SSO", kind="boolean"), by="op")
    with pytest.raises(InvalidInput) as refused:
        admin.create_plan(NewPlan(code="p", name="P", entitlements=[{"feature": "sso", "limit": 1},
                                                                    {"feature": "ghost"}]), by="op")
    assert [e["field"] for e in refused.value.errors or []] == ["entitlements.0", "entitlements.1"]
    assert admin.catalog.plan_by_code("p") is None


def test_one_active_tax_rate_per_country_or_region(admin: CatalogAdmin) -> None:
    country = admin.create_tax_rate(NewTaxRate(name="US", percentage="0", inclusive=False, country="US"), by="op")
    region = admin.create_tax_rate(NewTaxRate(name="CA", percentage="7.25", inclusive=False, country="US",
                                              region="US-CA"), by="op")
    with pytest.raises(Conflict):
        admin.create_tax_rate(NewTaxRate(name="CA 2", percentage="8", inclusive=False, country="us",
                                         region="us-ca"), by="op")
    assert admin.catalog.tax_rate_for("US", "US-CA") == region
    assert admin.catalog.tax_rate_for("US", "US-NY") == country
    admin.update_tax_rate(region.id, TaxRateUpdate(active=False), by="op")
    assert admin.catalog.tax_rate_for("US", "US-CA") == country.model_copy()
    replacement = admin.create_tax_rate(NewTaxRate(name="CA 2", percentage="8", inclusive=False, country="US",
                                                   region="US-CA"), by="op")
    assert admin.catalog.tax_rate_for("US", "US-CA") == replacement


def test_coupon_codes_are_stored_upper_case(admin: CatalogAdmin) -> None:
    admin.create_coupon(NewCoupon(code="welcome", percent_off="20", duration="once"), by="op")
    assert admin.catalog.coupon("WELCOME") == admin.catalog.coupon("welcome") is not None
    with pytest.raises(Conflict):
        admin.create_coupon(NewCoupon(code="Welcome", percent_off=5, duration="forever"), by="op")


def test_the_seed_is_the_issues_catalog_and_idempotent(admin: CatalogAdmin) -> None:
    seeded = seed_catalog(admin.table)

    assert seed_catalog(admin.table) == seeded
    assert {f.code for f in admin.catalog.features()} == {f["code"] for f in FEATURES}
    assert set(seeded) == {p["code"] for p, _ in PLANS}
    assert seeded["free"].is_default and admin.catalog.default_plan() == admin.catalog.plan(seeded["free"].id)
    pro = admin.catalog.active_price(seeded["pro"].id, currency="usd", interval_unit="year")
    assert pro is not None and pro.spec.flat_amount == 29000
    assert seeded["pro"].trial_days == 14
    assert {(e.feature, e.limit) for e in seeded["enterprise"].entitlements if e.feature in ("seats", "api_calls")} \
        == {("seats", None), ("api_calls", None)}
    assert seeded["extra-seats"].kind == "addon"
    welcome = admin.catalog.coupon("welcome20")
    assert welcome is not None and welcome.duration_in_periods == 3
    assert {(r.country, r.region, str(r.percentage)) for r in admin.catalog.tax_rates()} == {
        ("DE", None, "19"), ("FR", None, "20"), ("US", "US-CA", "7.25")}


# --- events: each change writes its platform event in its own transaction ----------------------------

def _published(admin: CatalogAdmin) -> list[tuple[str, str, str, dict[str, Any]]]:
    items, _ = admin.table.query(PLATFORM_OUTBOX_PK, sk_prefix=OUTBOX_SK_PREFIX, limit=100)
    envelopes = [json.loads(i["envelope"]) for i in items]
    assert all(e["tenant_id"] is None for e in envelopes)
    return [(e["type"], e["data"]["actor"], e["data"]["target"], e["data"]) for e in envelopes]


def test_every_catalog_change_writes_its_event_with_the_item_as_it_now_is(admin: CatalogAdmin) -> None:
    feature = admin.create_feature(NewFeature(code="projects", name="Projects", kind="limit"), by="op")
    admin.update_feature("projects", FeatureUpdate(name="Projects!"), by="op")
    meter = admin.create_meter(NewMeter(code="calls", name="Calls", event_name="call", aggregation="count"), by="op")
    admin.update_meter("calls", MeterUpdate(name="API calls"), by="op")
    plan = admin.create_plan(NewPlan(code="team", name="Team"), by="op")
    admin.update_plan(plan.id, PlanUpdate(name="Team+"), if_match='"1"', by="op")
    first = admin.add_price(plan.id, NewPrice.model_validate(MONTHLY_USD), by="op")
    second = admin.add_price(plan.id, NewPrice.model_validate({**MONTHLY_USD, "replaces": first.id}), by="op")
    admin.retire_price(plan.id, second.id, by="op")
    admin.retire_price(plan.id, second.id, by="op")  # already retired: nothing changes, no event
    admin.create_coupon(NewCoupon(code="half", percent_off=50, duration="once"), by="op")
    admin.update_coupon("HALF", CouponUpdate(active=False), by="op")
    rate = admin.create_tax_rate(NewTaxRate(name="NL VAT", percentage="21", inclusive=False, country="NL"), by="op")
    admin.update_tax_rate(rate.id, TaxRateUpdate(active=False), by="op")

    published = _published(admin)
    assert sorted((kind, actor, target) for kind, actor, target, _ in published) == sorted([
        ("feature.created", "op", "projects"), ("feature.updated", "op", "projects"),
        ("meter.created", "op", "calls"), ("meter.updated", "op", "calls"),
        ("plan.created", "op", plan.id), ("plan.updated", "op", plan.id),
        ("price.created", "op", first.id), ("price.created", "op", second.id), ("price.retired", "op", first.id),
        ("price.retired", "op", second.id),
        ("coupon.created", "op", "HALF"), ("coupon.updated", "op", "HALF"),
        ("tax_rate.created", "op", rate.id), ("tax_rate.updated", "op", rate.id)])
    data = {(kind, target): d for kind, _, target, d in published}
    assert data[("feature.updated", "projects")]["feature"]["name"] == "Projects!" and feature.name == "Projects"
    assert data[("meter.updated", "calls")]["meter"]["name"] == "API calls" and meter.name == "Calls"
    assert data[("plan.updated", plan.id)]["plan"]["name"] == "Team+"
    assert "prices" not in data[("plan.updated", plan.id)]["plan"]  # they come in their own price.* events
    assert data[("price.retired", first.id)]["price"]["active"] is False
    assert data[("tax_rate.updated", rate.id)]["tax_rate"]["active"] is False


def test_a_new_default_plan_also_publishes_the_plan_it_unsets(admin: CatalogAdmin) -> None:
    first = admin.create_plan(NewPlan(code="first", name="First", is_default=True), by="op")
    second = admin.create_plan(NewPlan(code="second", name="Second", is_default=True), by="op")

    unset = [d["plan"] for kind, _, target, d in _published(admin) if (kind, target) == ("plan.updated", first.id)]
    assert [(p["is_default"], p["version"]) for p in unset] == [(False, 2)]
    assert ("plan.created", "op", second.id) in [(k, a, t) for k, a, t, _ in _published(admin)]


def test_a_refused_change_writes_no_event(admin: CatalogAdmin) -> None:
    admin.create_feature(NewFeature(code="projects", name="Projects", kind="limit"), by="op")
    before = _published(admin)
    with pytest.raises(Conflict):
        admin.create_feature(NewFeature(code="projects", name="Again", kind="limit"), by="op")
    plan = admin.create_plan(NewPlan(code="team", name="Team"), by="op")
    with pytest.raises(Conflict):
        admin.update_plan(plan.id, PlanUpdate(name="Stale"), if_match='"7"', by="op")

    assert len(_published(admin)) == len(before) + 1  # the plan's creation only
