"""Every event type Wrapper publishes, in one place. The README's event table is built from it."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    TENANT_CREATED = "tenant.created"
    TENANT_UPDATED = "tenant.updated"
    TENANT_DELETED = "tenant.deleted"
    MEMBER_INVITED = "member.invited"
    MEMBER_JOINED = "member.joined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_ORGANIZATIONS_CHANGED = "member.organizations_changed"
    ROLE_CREATED = "role.created"
    ROLE_UPDATED = "role.updated"
    ROLE_DELETED = "role.deleted"
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ORGANIZATION_DELETED = "organization.deleted"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_PASSWORD_RESET = "auth.password_reset"  # noqa: S105 - an event name
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    TRIAL_ENDING = "trial.ending"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    INVOICE_CREATED = "invoice.created"
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_PAID = "invoice.paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_UNCOLLECTIBLE = "invoice.uncollectible"
    CREDIT_NOTE_CREATED = "credit_note.created"
    USAGE_THRESHOLD_REACHED = "usage.threshold_reached"
    CREDITS_GRANTED = "credits.granted"
    CREDITS_DEPLETED = "credits.depleted"
    # The platform catalog (tenant_id null): what the operator changed, with the item as it now is.
    PLAN_CREATED = "plan.created"
    PLAN_UPDATED = "plan.updated"
    PRICE_CREATED = "price.created"
    PRICE_RETIRED = "price.retired"
    FEATURE_CREATED = "feature.created"
    FEATURE_UPDATED = "feature.updated"
    METER_CREATED = "meter.created"
    METER_UPDATED = "meter.updated"
    COUPON_CREATED = "coupon.created"
    COUPON_UPDATED = "coupon.updated"
    TAX_RATE_CREATED = "tax_rate.created"
    TAX_RATE_UPDATED = "tax_rate.updated"


DESCRIPTIONS: dict[EventType, str] = {
    EventType.TENANT_CREATED: "A tenant signed up.",
    EventType.TENANT_UPDATED: "A tenant's profile or settings changed.",
    EventType.TENANT_DELETED: "A tenant was soft-deleted.",
    EventType.MEMBER_INVITED: "Someone was invited to a tenant.",
    EventType.MEMBER_JOINED: "An invite was accepted.",
    EventType.MEMBER_ROLE_CHANGED: "A member's role changed.",
    EventType.MEMBER_REMOVED: "A member left or was removed.",
    EventType.MEMBER_ORGANIZATIONS_CHANGED: "A member was assigned to or taken out of an organization unit.",
    EventType.ROLE_CREATED: "A custom role was created.",
    EventType.ROLE_UPDATED: "A custom role's permissions or description changed.",
    EventType.ROLE_DELETED: "A custom role was deleted.",
    EventType.ORGANIZATION_CREATED: "An organization unit was created.",
    EventType.ORGANIZATION_UPDATED: "An organization unit was renamed or moved.",
    EventType.ORGANIZATION_DELETED: "An organization unit was deleted.",
    EventType.API_KEY_CREATED: "An API key was created.",
    EventType.API_KEY_REVOKED: "An API key was revoked.",
    EventType.AUTH_LOGIN_FAILED: "A sign-in failed.",
    EventType.AUTH_PASSWORD_RESET: "A user reset their password with an emailed token.",
    EventType.SUBSCRIPTION_CREATED: "A tenant subscribed to a plan.",
    EventType.SUBSCRIPTION_UPDATED: "A subscription changed plan, seats or state.",
    EventType.SUBSCRIPTION_CANCELED: "A subscription was canceled.",
    EventType.TRIAL_ENDING: "A trial ends in three days.",
    EventType.PAYMENT_SUCCEEDED: "A payment went through.",
    EventType.PAYMENT_FAILED: "A payment failed.",
    EventType.INVOICE_CREATED: "An invoice was drafted (by a billing run, or at a charge).",
    EventType.INVOICE_FINALIZED: "An invoice was numbered and issued: its lines and amounts no longer change.",
    EventType.INVOICE_PAID: "An invoice was paid.",
    EventType.INVOICE_PAYMENT_FAILED: "An attempt to charge an invoice failed.",
    EventType.INVOICE_VOIDED: "The operator voided an open invoice: it keeps its number and is no longer due.",
    EventType.INVOICE_UNCOLLECTIBLE: "Dunning gave up on an invoice after its last failed attempt.",
    EventType.CREDIT_NOTE_CREATED: "The operator credited a finalized invoice with a numbered credit note.",
    EventType.USAGE_THRESHOLD_REACHED: "A metered feature crossed a threshold of its limit.",
    EventType.CREDITS_GRANTED: "Credits were added to a tenant's wallet (bought, or given by the operator).",
    EventType.CREDITS_DEPLETED: "Usage spent a tenant's credit wallet down to zero (or into its overdraft).",
    EventType.PLAN_CREATED: "The operator created a plan (platform event: no tenant).",
    EventType.PLAN_UPDATED: "A plan changed: the operator's edit, or another plan became the default.",
    EventType.PRICE_CREATED: "A new price (version) was added to a plan.",
    EventType.PRICE_RETIRED: "A price was retired for new subscriptions.",
    EventType.FEATURE_CREATED: "The operator created a feature.",
    EventType.FEATURE_UPDATED: "A feature changed.",
    EventType.METER_CREATED: "The operator created a meter.",
    EventType.METER_UPDATED: "A meter changed.",
    EventType.COUPON_CREATED: "The operator created a coupon.",
    EventType.COUPON_UPDATED: "A coupon changed.",
    EventType.TAX_RATE_CREATED: "The operator created a tax rate.",
    EventType.TAX_RATE_UPDATED: "A tax rate changed (or was activated or deactivated).",
}
