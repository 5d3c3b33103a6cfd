"""The catalog's items, all in one platform partition (small, read far more than written).

| item | PK | SK |
|---|---|---|
| plan | `PLATFORM#CATALOG` | `PLAN#<plan_id>` |
| plan code → plan id | `PLATFORM#CATALOG` | `PLANCODE#<code>` |
| price (immutable; versions) | `PLATFORM#CATALOG` | `PRICE#<plan_id>#<price_id>` |
| feature | `PLATFORM#CATALOG` | `FEATURE#<code>` |
| coupon | `PLATFORM#CATALOG` | `COUPON#<code>` |
| tax rate | `PLATFORM#CATALOG` | `TAXRATE#<id>` |
| meter | `PLATFORM#CATALOG` | `METER#<code>` |
| the default base plan (`plan_id`) | `PLATFORM#CATALOG` | `DEFAULTPLAN` |
| the active rate of a country or region (`rate_id`) | `PLATFORM#CATALOG` | `ACTIVETAXRATE#<country>#<region or ->` |

Models are stored as their JSON form under ``doc`` (plus the keys), so the item is exactly the
model; ``version`` is kept beside it for conditional writes (``wrapper.catalog.admin`` writes),
with ``updated_by`` / ``updated_at``, a plan's ``price_versions`` counter and a price's ``active``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel

from wrapper.catalog.models import Coupon, Feature, Meter, Plan, Price, TaxRate
from wrapper.store.schema import (
    CATALOG_PK,
    COUPON_PREFIX,
    FEATURE_PREFIX,
    METER_PREFIX,
    PLAN_PREFIX,
    PRICE_PREFIX,
    TAX_RATE_PREFIX,
    coupon_sk,
    feature_sk,
    meter_sk,
    plan_code_sk,
    plan_prices_prefix,
    plan_sk,
    price_sk,
)
from wrapper.store.table import Item, Table

_M = TypeVar("_M", bound=BaseModel)


def item_of(model: BaseModel, sk: str, record_type: str, **extra: Any) -> Item:
    """The catalog item that stores ``model`` (its JSON under ``doc``)."""
    return {"PK": CATALOG_PK, "SK": sk, "record_type": record_type, "doc": model.model_dump_json(), **extra}


def model_of(item: Item, kind: type[_M]) -> _M:
    return kind.model_validate(json.loads(str(item["doc"])))


class Catalog:
    """Reads of the catalog, for the operator API, the public plan list and subscriptions."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def plan(self, plan_id: str, *, with_prices: bool = False) -> Plan | None:
        item = self.table.get(CATALOG_PK, plan_sk(plan_id))
        if item is None:
            return None
        plan = model_of(item, Plan)
        if with_prices:
            plan = plan.model_copy(update={"prices": [p for p in self.prices(plan.id) if p.active]})
        return plan

    def plan_by_code(self, code: str, *, with_prices: bool = False) -> Plan | None:
        link = self.table.get(CATALOG_PK, plan_code_sk(code))
        return self.plan(str(link["plan_id"]), with_prices=with_prices) if link else None

    def plans(self) -> list[Plan]:
        return [model_of(i, Plan) for i in self._all(PLAN_PREFIX)]

    def public_plans(self) -> list[Plan]:
        """Active public plans with their active prices, in code order."""
        prices: dict[str, list[Price]] = {}
        for price in (model_of(i, Price) for i in self._all(PRICE_PREFIX)):
            if price.active:
                prices.setdefault(price.plan_id, []).append(price)
        chosen = [p for p in self.plans() if p.public and p.status == "active"]
        return sorted((p.model_copy(update={"prices": prices.get(p.id, [])}) for p in chosen), key=lambda p: p.code)

    def default_plan(self) -> Plan | None:
        return next((p for p in self.plans() if p.is_default and p.status == "active"), None)

    def all_prices(self) -> list[Price]:
        """Every price of every plan, in key order."""
        return [model_of(i, Price) for i in self._all(PRICE_PREFIX)]

    def prices(self, plan_id: str) -> list[Price]:
        """Every version of every price of a plan, oldest first."""
        return sorted((model_of(i, Price) for i in self._all(plan_prices_prefix(plan_id))), key=lambda p: p.version)

    def price(self, plan_id: str, price_id: str) -> Price | None:
        item = self.table.get(CATALOG_PK, price_sk(plan_id, price_id))
        return model_of(item, Price) if item else None

    def active_price(self, plan_id: str, *, currency: str, interval_unit: str) -> Price | None:
        """The plan's fee price (the newest active one without a meter) for a currency and interval."""
        return next((p for p in reversed(self.prices(plan_id)) if p.active and p.spec.meter is None
                     and p.spec.currency == currency.upper()
                     and p.interval.unit == interval_unit and p.interval.count == 1), None)

    def usage_prices(self, plan_id: str, *, currency: str, interval_unit: str) -> list[Price]:
        """The plan's active usage prices for a currency and interval: the newest per meter."""
        newest: dict[str, Price] = {}
        for price in self.prices(plan_id):
            if (price.active and price.spec.meter is not None and price.spec.currency == currency.upper()
                    and price.interval.unit == interval_unit and price.interval.count == 1):
                newest[price.spec.meter] = price
        return [newest[meter] for meter in sorted(newest)]

    def feature(self, code: str) -> Feature | None:
        item = self.table.get(CATALOG_PK, feature_sk(code))
        return model_of(item, Feature) if item else None

    def features(self) -> list[Feature]:
        return [model_of(i, Feature) for i in self._all(FEATURE_PREFIX)]

    def meter(self, code: str) -> Meter | None:
        item = self.table.get(CATALOG_PK, meter_sk(code))
        return model_of(item, Meter) if item else None

    def meters(self) -> list[Meter]:
        return [model_of(i, Meter) for i in self._all(METER_PREFIX)]

    def coupon(self, code: str) -> Coupon | None:
        item = self.table.get(CATALOG_PK, coupon_sk(code))
        return _coupon(item) if item else None

    def coupons(self) -> list[Coupon]:
        return [_coupon(i) for i in self._all(COUPON_PREFIX)]

    def tax_rates(self) -> list[TaxRate]:
        return [model_of(i, TaxRate) for i in self._all(TAX_RATE_PREFIX)]

    def tax_rate_for(self, country: str | None, region: str | None = None) -> TaxRate | None:
        """The active rate for a tenant's country and region: the region's if there is one, else
        the country-wide one; None where no rate applies."""
        if not country:
            return None
        rates = [r for r in self.tax_rates() if r.active and r.country == country.upper()]
        return next((r for r in rates if region and r.region == region), None) or \
            next((r for r in rates if r.region is None), None)

    def _all(self, prefix: str) -> Iterator[Item]:
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query(CATALOG_PK, sk_prefix=prefix, limit=100, start_key=start)
            yield from items
            if not start:
                return


def _coupon(item: Item) -> Coupon:
    """Redemptions are counted in the item's own ``times_redeemed`` attribute (an atomic ADD when a
    subscription redeems the coupon), never in its stored document."""
    coupon = model_of(item, Coupon)
    return coupon.model_copy(update={"times_redeemed": int(item.get("times_redeemed") or 0)})

