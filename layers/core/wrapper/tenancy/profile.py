"""The tenant's own profile: name, timezone, billing email and free-form settings."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.identity.models import normalize_email
from wrapper.kernel import clock
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import Conflict, NotFound
from wrapper.kernel.model import Model
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import PROFILE_SK
from wrapper.store.table import Item, Table, WriteRefused, put_op

MAX_SETTINGS_BYTES = 8192


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone (e.g. Europe/Paris)") from None
    return value


Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Address(Model):
    model_config = ConfigDict(extra="forbid")

    line1: Line | None = None
    line2: Line | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}(-[A-Z0-9]{1,3})?$")] | None = Field(
        default=None, description="ISO 3166-2 subdivision code, with or without the country: CA or US-CA")
    country: Country = Field(description="ISO 3166-1 alpha-2, upper-case: the tax rate is chosen by it")

    @property
    def subdivision(self) -> str | None:
        """The region as the catalog's tax rates name it (``US-CA``)."""
        if self.region is None:
            return None
        return self.region if "-" in self.region else f"{self.country}-{self.region}"


class BillingDetails(Model):
    """Who an invoice is addressed to, and where: the address's country and region choose the tax rate."""

    model_config = ConfigDict(extra="forbid")

    legal_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    address: Address | None = None
    tax_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)] | None = None


class TenantProfile(Model):
    tenant_id: str
    name: str
    timezone: str
    billing_email: str | None = None
    status: str
    plan_tier: str
    settings: dict[str, Any] = {}
    billing_details: BillingDetails | None = None
    created_at: str
    updated_at: str | None = None
    deleted_at: str | None = None
    purge_after: str | None = None
    version: int


class TenantUpdate(Model):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    timezone: Annotated[str, AfterValidator(_timezone)] | None = None
    billing_email: Annotated[str, AfterValidator(normalize_email)] | None = None
    settings: dict[str, Any] | None = None
    billing_details: BillingDetails | None = None

    @model_validator(mode="after")
    def _required_fields_stay(self) -> TenantUpdate:
        for name in ("name", "timezone"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    @field_validator("settings")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > MAX_SETTINGS_BYTES:
            raise ValueError(f"settings are limited to {MAX_SETTINGS_BYTES} bytes of JSON")
        return value


class TenantProfiles:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days

    def get(self, tenant: TenantContext) -> TenantProfile:
        item = self.table.get(tenant.pk, PROFILE_SK)
        if item is None:
            raise NotFound("No such tenant.")
        return _profile(item)

    def update(self, actor: Actor, change: TenantUpdate) -> TenantProfile:
        actor.require(Permission.TENANT_WRITE)
        current = self.table.get(actor.tenant.pk, PROFILE_SK)
        if current is None:
            raise NotFound("No such tenant.")
        fields = change.model_dump(exclude_unset=True)
        updated: Item = {**current, **fields, "updated_at": clock.now().isoformat(),
                         "version": int(current["version"]) + 1}
        if "settings" in fields:
            updated["settings"] = json.dumps(fields["settings"])
        if change.billing_details is not None:
            updated["billing_details"] = change.billing_details.model_dump_json(exclude_none=True)
        elif "billing_details" in fields:
            updated.pop("billing_details", None)  # null clears them
        event = new_event(EventType.TENANT_UPDATED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, actor.tenant.tenant_id, actor.request_meta), "fields": sorted(fields)})
        try:
            # Optimistic: a concurrent update between our read and this write makes it fail, not vanish.
            write_with_outbox(self.table, [put_op(updated, condition="#v = :v", names={"#v": "version"},
                                                       values={":v": int(current["version"])})],
                              [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused:
            raise Conflict("The tenant changed meanwhile; read it again and retry.") from None
        return _profile(updated)


    def delete(self, actor: Actor, *, grace_days: int) -> TenantProfile:
        """Soft delete: the tenant is closed to every request at once, and its data is kept for
        ``grace_days`` (the operator can restore it until then; purging comes with the admin API)."""
        actor.require(Permission.TENANT_DELETE)
        current = self.table.get(actor.tenant.pk, PROFILE_SK)
        if current is None:
            raise NotFound("No such tenant.")
        now = clock.now()
        deleted: Item = {**current, "status": "deleted", "deleted_at": now.isoformat(),
                         "purge_after": (now + timedelta(days=grace_days)).isoformat(),
                         "version": int(current["version"]) + 1}
        event = new_event(EventType.TENANT_DELETED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, actor.tenant.tenant_id, actor.request_meta),
            "purge_after": deleted["purge_after"]})
        try:
            write_with_outbox(self.table, [put_op(deleted, condition="#v = :v AND #s = :active",
                                                  names={"#v": "version", "#s": "status"},
                                                  values={":v": int(current["version"]), ":active": "active"})],
                              [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused:
            raise Conflict("The tenant changed meanwhile; read it again and retry.") from None
        return _profile(deleted)


def billing_details_of(item: Item) -> BillingDetails | None:
    """The billing details stored on a tenant's profile item (JSON, as written by ``update``)."""
    stored = item.get("billing_details")
    return BillingDetails.model_validate_json(stored) if isinstance(stored, str) else None


def _profile(item: Item) -> TenantProfile:
    settings = item.get("settings")
    return TenantProfile(
        tenant_id=str(item["tenant_id"]), name=str(item["name"]), timezone=str(item["timezone"]),
        billing_email=item.get("billing_email"), status=str(item["status"]), plan_tier=str(item["plan_tier"]),
        settings=json.loads(settings) if isinstance(settings, str) else {}, created_at=str(item["created_at"]),
        billing_details=billing_details_of(item),
        updated_at=item.get("updated_at"), deleted_at=item.get("deleted_at"), purge_after=item.get("purge_after"),
        version=int(item["version"]))
