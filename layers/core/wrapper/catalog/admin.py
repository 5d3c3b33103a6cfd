"""The platform operator's changes to the catalog: the conditional writes that keep the catalog's
rules under concurrent requests. What a request may ask for is ``catalog.requests``; the rules a
change is checked against before it is written are ``catalog.rules``.

Catalog changes are platform changes, not a tenant's. Each one writes its event (``plan.created``,
``price.retired``, ...; no tenant, the item as it now is, the operator as ``actor``) to the
platform's outbox in the change's own transaction; the audit consumer keeps them in the platform
audit log (``GET /v1/admin/audit-log``). Each item also records who changed it last
(``updated_by``, ``updated_at``) beside its ``doc``.

Rules held by the writes themselves, not by a read before them:
- a plan code, feature code or coupon code is taken once (``attribute_not_exists``);
- at most one default base plan: the ``DEFAULTPLAN`` item names it, and making a plan the
  default swaps that item and unsets the previous plan in the same transaction;
- a price's version is one more than its plan's ``price_versions`` counter, bumped in the
  transaction that writes the price, so two concurrent prices cannot share a version;
- at most one active tax rate per (country, region): an ``ACTIVETAXRATE#`` item names it;
- every change is conditioned on the version it read: a concurrent change makes it 409.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from ulid import ULID

from wrapper.catalog.models import (
    Coupon,
    Feature,
    Meter,
    Plan,
    Price,
    TaxRate,
)
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
from wrapper.catalog.rules import check_entitlements, check_plan, expected_version
from wrapper.catalog.store import Catalog, item_of, model_of
from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound
from wrapper.store.schema import (
    CATALOG_PK,
    DEFAULT_PLAN_SK,
    active_tax_rate_sk,
    coupon_sk,
    feature_sk,
    meter_sk,
    plan_code_sk,
    plan_sk,
    price_sk,
    tax_rate_sk,
)
from wrapper.store.table import Item, Table, WriteRefused, delete_op, put_op, to_dynamo, update_op

CHANGED_MEANWHILE = "The catalog changed meanwhile; read it again and retry."


class CatalogAdmin:
    """Creates and changes catalog items on the operator's behalf (``by``: their user id)."""

    def __init__(self, table: Table, *, outbox_ttl_days: int,
                 clock: Clock = now,
                 new_id: Callable[[], str] = lambda: str(ULID())) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days
        self.catalog = Catalog(table)
        self.clock = clock
        self.new_id = new_id

    # -- shared -----------------------------------------------------------------------------
    def _stamp(self, by: str) -> dict[str, Any]:
        return {"updated_by": by, "updated_at": self.clock().isoformat()}

    def _new_item(self, model: BaseModel, sk: str, record_type: str, by: str, **extra: Any) -> Item:
        return item_of(model, sk, record_type, version=1, **self._stamp(by), **extra)

    def _rewrite_op(self, model: BaseModel, item: Item, *, next_version: int, by: str) -> dict[str, Any]:
        """Replace an item's doc, conditioned on the version it was read at (an item written
        without one, e.g. by a test fixture, must still have none)."""
        values: dict[str, Any] = {":doc": model.model_dump_json(), ":next": next_version, ":by": by,
                                  ":at": self.clock().isoformat()}
        if item.get("version") is None:
            condition = "attribute_exists(PK) AND attribute_not_exists(#v)"
        else:
            condition = "#v = :read"
            values[":read"] = int(item["version"])
        return update_op(CATALOG_PK, str(item["SK"]),
                         update="SET doc = :doc, #v = :next, updated_by = :by, updated_at = :at",
                         condition=condition, names={"#v": "version"}, values=values)

    def _write(self, operations: list[dict[str, Any]], conflicts: Mapping[int, str],
               events: Sequence[EventEnvelope]) -> None:
        """Run one transaction with its events; a failed condition is the 409 ``conflicts`` names for
        its index."""
        try:
            write_with_outbox(self.table, operations, events, ttl_days=self.outbox_ttl_days)
        except WriteRefused as refused:
            raise Conflict(next((conflicts[n] for n in refused.failed if n in conflicts), CHANGED_MEANWHILE)) from None

    def _read(self, sk: str, what: str) -> Item:
        item = self.table.get(CATALOG_PK, sk)
        if item is None:
            raise NotFound(f"No such {what}.")
        return item

    def _features(self) -> dict[str, Feature]:
        return {f.code: f for f in self.catalog.features()}

    def _meters(self) -> dict[str, Meter]:
        return {m.code: m for m in self.catalog.meters()}

    # -- features ---------------------------------------------------------------------------
    def create_feature(self, body: NewFeature, *, by: str) -> Feature:
        feature = Feature(**body.model_dump())
        self._write([put_op(self._new_item(feature, feature_sk(feature.code), "feature", by),
                            condition="attribute_not_exists(PK)")],
                    {0: f"A feature with code {feature.code} exists."},
                    [_changed(EventType.FEATURE_CREATED, feature, by=by, target=feature.code)])
        return feature

    def update_feature(self, code: str, body: FeatureUpdate, *, by: str) -> Feature:
        item = self._read(feature_sk(code), "feature")
        current = model_of(item, Feature)
        changed = Feature.model_validate({**current.model_dump(), **body.model_dump(exclude_unset=True)})
        self._write([self._rewrite_op(changed, item, next_version=_next(item), by=by)], {},
                    [_changed(EventType.FEATURE_UPDATED, changed, by=by, target=code)])
        return changed

    # -- meters -----------------------------------------------------------------------------
    def create_meter(self, body: NewMeter, *, by: str) -> Meter:
        meter = Meter(**body.model_dump())
        self._write([put_op(self._new_item(meter, meter_sk(meter.code), "meter", by),
                            condition="attribute_not_exists(PK)")],
                    {0: f"A meter with code {meter.code} exists."},
                    [_changed(EventType.METER_CREATED, meter, by=by, target=meter.code)])
        return meter

    def update_meter(self, code: str, body: MeterUpdate, *, by: str) -> Meter:
        item = self._read(meter_sk(code), "meter")
        current = model_of(item, Meter)
        changed = Meter.model_validate({**current.model_dump(), **body.model_dump(exclude_unset=True)})
        self._write([self._rewrite_op(changed, item, next_version=_next(item), by=by)], {},
                    [_changed(EventType.METER_UPDATED, changed, by=by, target=code)])
        return changed

    # -- plans ------------------------------------------------------------------------------
    def plan(self, plan_id: str) -> Plan:
        """A plan with every version of every price, for the operator."""
        plan = self.catalog.plan(plan_id)
        if plan is None:
            raise NotFound("No such plan.")
        return plan.model_copy(update={"prices": self.catalog.prices(plan_id)})

    def plans(self) -> list[Plan]:
        """Every plan, archived ones too, with its active prices, in code order."""
        active: dict[str, list[Price]] = {}
        for price in self.catalog.all_prices():
            if price.active:
                active.setdefault(price.plan_id, []).append(price)
        return sorted((p.model_copy(update={"prices": active.get(p.id, [])}) for p in self.catalog.plans()),
                      key=lambda p: p.code)

    def create_plan(self, body: NewPlan, *, by: str) -> Plan:
        check_entitlements(body.entitlements, self._features(), self._meters())
        plan = Plan(id=self.new_id(), created_at=self.clock(), **body.model_dump())
        check_plan(plan)
        operations = [
            put_op({"PK": CATALOG_PK, "SK": plan_code_sk(plan.code), "record_type": "plan_code",
                    "plan_id": plan.id, **self._stamp(by)}, condition="attribute_not_exists(PK)"),
            put_op(self._new_item(plan, plan_sk(plan.id), "plan", by), condition="attribute_not_exists(PK)"),
        ]
        events = [_changed(EventType.PLAN_CREATED, plan, by=by, target=plan.id)]
        if plan.is_default:
            operations += self._become_default_ops(plan.id, by=by, events=events)
        self._write(operations, {0: f"A plan with code {plan.code} exists."}, events)
        return plan

    def update_plan(self, plan_id: str, body: PlanUpdate, *, if_match: str | None, by: str) -> Plan:
        read_version = expected_version(if_match, body.version)
        item = self._read(plan_sk(plan_id), "plan")
        current = model_of(item, Plan)
        if current.version != read_version:
            raise Conflict(f"The plan is at version {current.version}, not {read_version}; read it again.")
        changes = body.model_dump(exclude_unset=True, exclude={"version"})
        if "entitlements" in changes:
            check_entitlements(body.entitlements or [], self._features(), self._meters())
        changed = Plan.model_validate({**current.model_dump(), **changes, "version": current.version + 1})
        check_plan(changed)
        operations = [self._rewrite_op(changed, item, next_version=changed.version, by=by)]
        events = [_changed(EventType.PLAN_UPDATED, changed, by=by, target=plan_id)]
        if changed.is_default and not current.is_default:
            operations += self._become_default_ops(plan_id, by=by, events=events)
        elif current.is_default and not changed.is_default:
            operations.append(_delete_naming_op(DEFAULT_PLAN_SK, "plan_id", plan_id))
        self._write(operations, {}, events)
        return changed.model_copy(update={"prices": self.catalog.prices(plan_id)})

    def _become_default_ops(self, plan_id: str, *, by: str, events: list[EventEnvelope]) -> list[dict[str, Any]]:
        """Point DEFAULTPLAN at ``plan_id`` and unset the plan it named, both conditioned on what was read
        (that plan's ``plan.updated`` joins ``events``)."""
        pointer = self.table.get(CATALOG_PK, DEFAULT_PLAN_SK)
        new_pointer = {"PK": CATALOG_PK, "SK": DEFAULT_PLAN_SK, "record_type": "default_plan", "plan_id": plan_id,
                       **self._stamp(by)}
        if pointer is None:
            # A default written without the pointer (by an older seed or a fixture) is still unset.
            found = self.catalog.default_plan()
            previous_id = found.id if found is not None and found.id != plan_id else None
            operations = [put_op(new_pointer, condition="attribute_not_exists(PK)")]
        else:
            previous_id = str(pointer["plan_id"])
            operations = [put_op(new_pointer, condition="plan_id = :previous", values={":previous": previous_id})]
        if previous_id is None:
            return operations
        previous_item = self.table.get(CATALOG_PK, plan_sk(previous_id))
        if previous_item is not None:
            previous = model_of(previous_item, Plan)
            unset = previous.model_copy(update={"is_default": False, "version": previous.version + 1})
            operations.append(self._rewrite_op(unset, previous_item, next_version=unset.version, by=by))
            events.append(_changed(EventType.PLAN_UPDATED, unset, by=by, target=unset.id))
        return operations

    # -- prices -----------------------------------------------------------------------------
    def add_price(self, plan_id: str, body: NewPrice, *, by: str) -> Price:
        item = self._read(plan_sk(plan_id), "plan")
        if model_of(item, Plan).status != "active":
            raise Conflict("The plan is archived: it takes no new prices.")
        if body.spec.meter is not None and self.catalog.meter(body.spec.meter) is None:
            raise InvalidInput(f"No such meter: {body.spec.meter}.",
                               errors=[{"field": "spec.meter", "message": "no meter has this code"}])
        last = int(item.get("price_versions", 0))
        price = Price(id=self.new_id(), plan_id=plan_id, version=last + 1, interval=body.interval, spec=body.spec,
                      created_at=self.clock())
        bump = update_op(CATALOG_PK, plan_sk(plan_id), update="SET price_versions = :next",
                         condition="attribute_exists(PK) AND (attribute_not_exists(price_versions) "
                                   "OR price_versions = :last)",
                         values={":next": last + 1, ":last": last})
        operations = [bump, put_op(self._new_item(price, price_sk(plan_id, price.id), "price", by, active=True),
                                   condition="attribute_not_exists(PK)")]
        conflicts = {0: "Another price was added to the plan meanwhile; retry."}
        events = [_changed(EventType.PRICE_CREATED, price, by=by, target=price.id)]
        if body.replaces is not None:
            replaced = self.catalog.price(plan_id, body.replaces)
            if replaced is None:
                raise InvalidInput("replaces names no price of this plan.",
                                   errors=[{"field": "replaces", "message": "no such price in this plan"}])
            retire, retired = self._retirement(replaced, by=by)
            operations.append(retire)
            conflicts[2] = "The replaced price is already retired."
            events.append(retired)
        self._write(operations, conflicts, events)
        return price

    def retire_price(self, plan_id: str, price_id: str, *, by: str) -> Price:
        """Retire a price for new subscriptions (idempotent): existing subscriptions keep it."""
        price = self.catalog.price(plan_id, price_id)
        if price is None:
            raise NotFound("No such price in this plan.")
        if price.active:
            retire, retired = self._retirement(price, by=by)
            try:
                write_with_outbox(self.table, [retire], [retired], ttl_days=self.outbox_ttl_days)
            except WriteRefused as refused:
                if not refused.failed:
                    raise  # a failed condition: retired meanwhile (with its event), which is what was asked
        return price.model_copy(update={"active": False})

    def _retirement(self, price: Price, *, by: str) -> tuple[dict[str, Any], EventEnvelope]:
        """The write that retires an active price, and its ``price.retired`` event."""
        retired = price.model_copy(update={"active": False})
        operation = update_op(CATALOG_PK, price_sk(price.plan_id, price.id),
                              update="SET doc = :doc, active = :false, updated_by = :by, updated_at = :at",
                              condition="active = :true",
                              values={":doc": retired.model_dump_json(), ":false": False, ":true": True, ":by": by,
                                      ":at": self.clock().isoformat()})
        return operation, _changed(EventType.PRICE_RETIRED, retired, by=by, target=price.id)

    # -- coupons ----------------------------------------------------------------------------
    def create_coupon(self, body: NewCoupon, *, by: str) -> Coupon:
        coupon = Coupon(**{**body.model_dump(), "code": body.code.upper()})
        self._write([put_op(self._new_item(coupon, coupon_sk(coupon.code), "coupon", by),
                            condition="attribute_not_exists(PK)")],
                    {0: f"A coupon with code {coupon.code} exists."},
                    [_changed(EventType.COUPON_CREATED, coupon, by=by, target=coupon.code)])
        return coupon

    def update_coupon(self, code: str, body: CouponUpdate, *, by: str) -> Coupon:
        item = self._read(coupon_sk(code), "coupon")
        current = model_of(item, Coupon)
        changed = Coupon.model_validate({**current.model_dump(), **body.model_dump(exclude_unset=True)})
        self._write([self._rewrite_op(changed, item, next_version=_next(item), by=by)], {},
                    [_changed(EventType.COUPON_UPDATED, changed, by=by, target=changed.code)])
        return changed

    # -- tax rates --------------------------------------------------------------------------
    def create_tax_rate(self, body: NewTaxRate, *, by: str) -> TaxRate:
        rate = TaxRate(id=self.new_id(), **body.model_dump())
        self._write([self._claim_region_op(rate, by=by),
                     put_op(self._new_item(rate, tax_rate_sk(rate.id), "tax_rate", by),
                            condition="attribute_not_exists(PK)")],
                    {0: _region_taken(rate)}, [_changed(EventType.TAX_RATE_CREATED, rate, by=by, target=rate.id)])
        return rate

    def update_tax_rate(self, rate_id: str, body: TaxRateUpdate, *, by: str) -> TaxRate:
        item = self._read(tax_rate_sk(rate_id), "tax rate")
        current = model_of(item, TaxRate)
        changed = current.model_copy(update=body.model_dump(exclude_unset=True))
        operations = [self._rewrite_op(changed, item, next_version=_next(item), by=by)]
        conflicts: dict[int, str] = {}
        if changed.active and not current.active:
            operations.append(self._claim_region_op(changed, by=by))
            conflicts[1] = _region_taken(changed)
        elif current.active and not changed.active:
            operations.append(_delete_naming_op(active_tax_rate_sk(current.country, current.region), "rate_id",
                                                current.id))
        self._write(operations, conflicts, [_changed(EventType.TAX_RATE_UPDATED, changed, by=by, target=rate_id)])
        return changed

    def _claim_region_op(self, rate: TaxRate, *, by: str) -> dict[str, Any]:
        return put_op({"PK": CATALOG_PK, "SK": active_tax_rate_sk(rate.country, rate.region),
                       "record_type": "active_tax_rate", "rate_id": rate.id, **self._stamp(by)},
                      condition="attribute_not_exists(PK)")


def _changed(event_type: EventType, model: BaseModel, *, by: str, target: str) -> EventEnvelope:
    """A catalog event: a platform one (no tenant), with the item as it is after the change. A plan's
    prices are items of their own, in ``price.*`` events, so a plan travels without them."""
    name = event_type.value.split(".", 1)[0]
    item = model.model_dump(mode="json", exclude={"prices"} if isinstance(model, Plan) else None)
    return new_event(event_type, None, {"actor": by, "target": target, name: item})


def _next(item: Item) -> int:
    return int(item.get("version") or 1) + 1


def _region_taken(rate: TaxRate) -> str:
    where = rate.region or f"{rate.country} (country-wide)"
    return f"{where} already has an active tax rate; deactivate it first."


def _delete_naming_op(sk: str, attribute: str, value: str) -> dict[str, Any]:
    """Delete a pointer item only while it still names ``value`` (or is already gone)."""
    operation = delete_op(CATALOG_PK, sk, condition=f"attribute_not_exists(PK) OR {attribute} = :named")
    operation["Delete"]["ExpressionAttributeValues"] = to_dynamo({":named": value})
    return operation
