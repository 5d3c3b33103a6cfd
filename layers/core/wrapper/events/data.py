"""What each event type's ``data`` holds, version 1: one typed model per type.

``new_event`` checks every event's data against its type's model before the event is written, so a
reader (the audit consumer today; outbound webhooks and notifications next) can rely on the fields
named here. A model allows fields it does not name, so a newer writer's additions reach readers
that do not know them yet. Money is in minor units; times are ISO 8601 UTC strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from wrapper.events.catalog import EventType
from wrapper.kernel.model import Model


class EventData(Model):
    """Who did it, to what, from which request: the fields the audit log keeps."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    actor: str | None = None
    target: str | None = None
    request_id: str | None = None
    source_ip: str | None = None


class TenantCreated(EventData):
    name: str


class TenantUpdated(EventData):
    fields: list[str]
    name: str | None = None


class TenantDeleted(EventData):
    purge_after: str


class MemberInvited(EventData):
    role: str


class MemberJoined(EventData):
    role: str
    invited_by: str | None = None


class MemberRoleChanged(EventData):
    from_role: str = Field(alias="from")
    to: str


class MemberRemoved(EventData):
    left: bool


class MemberOrganizationsChanged(EventData):
    org_id: str
    change: str


class OrganizationChanged(EventData):
    name: str
    parent_id: str | None = None
    previous_parent_id: str | None = None
    fields: list[str] | None = None


class RoleChanged(EventData):
    permissions: list[str]
    fields: list[str] | None = None


class ApiKeyCreated(EventData):
    name: str
    scopes: list[str]


class ApiKeyRevoked(EventData):
    name: str | None = None


class LoginFailed(EventData):
    reason: str


class SubscriptionCreated(EventData):
    plan_code: str
    status: str
    default_plan: bool = False
    replaces: str | None = None
    coupon: str | None = None


class SubscriptionUpdated(EventData):
    change: str
    plan_code: str | None = None
    seats: int | None = None
    interval: str | None = None
    status: str | None = None
    scheduled_at: str | None = None
    at: str | None = None


class SubscriptionCanceled(EventData):
    plan_code: str
    canceled_at: str
    now_on: str


class TrialEnding(EventData):
    plan_code: str
    trial_end: str


class Payment(EventData):
    amount: int
    currency: str
    payment_id: str | None = None
    reason: str | None = None
    checkout_session_id: str | None = None
    period_start: str | None = None


class InvoicePaid(EventData):
    invoice_id: str | None = None
    number: str | None = None
    amount_paid: int | None = None
    currency: str | None = None
    payment_id: str | None = None


class InvoiceChanged(EventData):
    invoice_id: str
    number: str | None = None
    status: str
    subscription_id: str | None = None
    currency: str
    total: int
    amount_due: int
    reason: str | None = None


class InvoiceVoided(EventData):
    invoice_id: str
    number: str | None = None
    subscription_id: str | None = None
    currency: str
    total: int
    amount_due: int
    reason: str | None = None


class CreditNoteCreated(EventData):
    credit_note_id: str
    number: str
    invoice_id: str
    invoice_number: str | None = None
    currency: str
    amount: int
    tax: int
    method: str
    reason: str | None = None
    amount_credited: int
    amount_due: int


class ThresholdReached(EventData):
    meter: str
    feature: str
    threshold_percent: int
    limit: int
    value: int | float
    period_start: str
    period_end: str


class CreditsGranted(EventData):
    grant_id: str
    credits: int | float
    source: str
    priority: int
    balance: int | float
    expires_at: str | None = None


class CreditsDepleted(EventData):
    balance: int | float
    overdraft_limit: int | float
    event_id: str | None = None
    meter: str | None = None


class PlanChanged(EventData):
    plan: dict[str, Any]


class PriceChanged(EventData):
    price: dict[str, Any]


class FeatureChanged(EventData):
    feature: dict[str, Any]


class MeterChanged(EventData):
    meter: dict[str, Any]


class CouponChanged(EventData):
    coupon: dict[str, Any]


class TaxRateChanged(EventData):
    tax_rate: dict[str, Any]


E = EventType
DATA: dict[EventType, type[EventData]] = {
    E.TENANT_CREATED: TenantCreated, E.TENANT_UPDATED: TenantUpdated, E.TENANT_DELETED: TenantDeleted,
    E.MEMBER_INVITED: MemberInvited, E.MEMBER_JOINED: MemberJoined, E.MEMBER_ROLE_CHANGED: MemberRoleChanged,
    E.MEMBER_REMOVED: MemberRemoved, E.MEMBER_ORGANIZATIONS_CHANGED: MemberOrganizationsChanged,
    E.ROLE_CREATED: RoleChanged, E.ROLE_UPDATED: RoleChanged, E.ROLE_DELETED: RoleChanged,
    E.ORGANIZATION_CREATED: OrganizationChanged, E.ORGANIZATION_UPDATED: OrganizationChanged,
    E.ORGANIZATION_DELETED: OrganizationChanged,
    E.API_KEY_CREATED: ApiKeyCreated, E.API_KEY_REVOKED: ApiKeyRevoked,
    E.AUTH_LOGIN_FAILED: LoginFailed, E.AUTH_PASSWORD_RESET: EventData,
    E.SUBSCRIPTION_CREATED: SubscriptionCreated, E.SUBSCRIPTION_UPDATED: SubscriptionUpdated,
    E.SUBSCRIPTION_CANCELED: SubscriptionCanceled, E.TRIAL_ENDING: TrialEnding,
    E.PAYMENT_SUCCEEDED: Payment, E.PAYMENT_FAILED: Payment, E.INVOICE_PAID: InvoicePaid,
    E.INVOICE_CREATED: InvoiceChanged, E.INVOICE_FINALIZED: InvoiceChanged, E.INVOICE_PAYMENT_FAILED: InvoiceChanged,
    E.INVOICE_VOIDED: InvoiceVoided,
    E.INVOICE_UNCOLLECTIBLE: InvoiceChanged, E.CREDIT_NOTE_CREATED: CreditNoteCreated,
    E.USAGE_THRESHOLD_REACHED: ThresholdReached, E.CREDITS_GRANTED: CreditsGranted, E.CREDITS_DEPLETED: CreditsDepleted,
    E.PLAN_CREATED: PlanChanged, E.PLAN_UPDATED: PlanChanged, E.PRICE_CREATED: PriceChanged,
    E.PRICE_RETIRED: PriceChanged, E.FEATURE_CREATED: FeatureChanged, E.FEATURE_UPDATED: FeatureChanged,
    E.METER_CREATED: MeterChanged, E.METER_UPDATED: MeterChanged, E.COUPON_CREATED: CouponChanged,
    E.COUPON_UPDATED: CouponChanged, E.TAX_RATE_CREATED: TaxRateChanged, E.TAX_RATE_UPDATED: TaxRateChanged,
}


def data_model(event_type: str) -> type[EventData]:
    """The model of a type's data; the bare audit fields for a type this version does not know."""
    try:
        return DATA[EventType(event_type)]
    except ValueError:
        return EventData
