"""Every key of the one table, and the access patterns they serve. Nothing outside this module spells
a key: code and tests build them here (``tests/unit/test_layer_rules.py`` holds that).

Every tenant-owned partition key begins with ``TENANT#<tenant_id>`` (the kernel's isolation rule,
``wrapper.kernel.tenant``); platform-owned ones with ``PLATFORM#``. Keys come from a context or from
values the code already trusts, never from request input unchecked.

| access pattern | PK | SK | read as |
|---|---|---|---|
| tenant profile (name, status, tier, timezone, version) | `TENANT#<t>` | `PROFILE` | GetItem |
| a tenant's members / one member | `TENANT#<t>` | `MEMBER#<user>` | Query prefix / GetItem |
| a tenant's invites by email | `TENANT#<t>` | `INVITE#<email>` | Query prefix / GetItem |
| invite by token | `PLATFORM#INVITE#<sha256>` | `INVITE` | GetItem |
| custom roles, and their count | `TENANT#<t>` | `ROLE#<name>`, `ROLECOUNT` | Query prefix / GetItem |
| organization units, the tree's version, a unit's members | `TENANT#<t>` | `ORG#<id>`, `ORGTREE`, `ORGMEMBER#<user>#<org>` | Query prefix |
| a tenant's API keys | `TENANT#<t>` | `APIKEY#<id>` | Query prefix |
| API key by hash (authorizer, hot) | `PLATFORM#APIKEY#<sha256>` | `KEY` | GetItem |
| rate-limit window per tenant | `TENANT#<t>` | `RATE#<window start>` | atomic ADD |
| audit entries by time, and their dedupe markers | `TENANT#<t>` or `PLATFORM#AUDIT` | `AUDIT#<at>#<event>`, `AUDITEVT#<event>` | Query between |
| outbox records | `TENANT#<t>` or `PLATFORM#OUTBOX` | `OUTBOX#<event id>` | stream |
| Idempotency-Key records | `TENANT#<t>` | `IDEMPOTENCY#<sha256>` | GetItem |
| current subscription (+ GSI1 `PLATFORM#DUE#<day>` / `TENANT#<t>`: due on a day) | `TENANT#<t>` | `SUBSCRIPTION` | GetItem; GSI1 Query |
| subscription history | `TENANT#<t>` | `SUBHIST#<...>` | Query prefix |
| billing record (Stripe customer, card) | `TENANT#<t>` | `BILLING` | GetItem |
| pending Checkout changes, applied Stripe events, renewal charges recorded before invoices existed (no longer written), trial notices, coupon uses | `TENANT#<t>` | `CHECKOUT#`, `STRIPEEVT#`, `CHARGE#`, `TRIALNOTICE#`, `COUPONUSE#` | GetItem |
| a tenant's invoices, newest first (ids sort by issue day) | `TENANT#<t>` | `INVOICE#<id>` | GetItem / Query prefix |
| every tenant's invoices, newest first; an invoice by id alone (+ GSI1 `PLATFORM#INVOICES` / `INVOICE#<id>`) | (the invoice) | | GSI1 Query |
| a tenant's credit notes (+ GSI1 `TENANT#<t>#CREDITNOTES` / `CREDITNOTE#<created at>#<id>`: newest first) | `TENANT#<t>` | `CREDITNOTE#<id>` | GetItem; GSI1 Query |
| an unpaid invoice's next charge (+ GSI1 `PLATFORM#DUE#<day>` / `TENANT#<t>`: due on a day, beside subscriptions) | `TENANT#<t>` | `DUNNING#<invoice id>` | GetItem; GSI1 Query |
| invoice and credit note number series (the last number given, per prefix and year: `INV-2026`, `CN-2026`) | `PLATFORM#INVOICESERIES#<prefix>-<yyyy>` | `COUNTER` | GetItem, conditional update |
| tenant by Stripe customer | `PLATFORM#STRIPECUST#<customer>` | `TENANT` | GetItem |
| Stripe webhook events and each object's last applied event | `PLATFORM#STRIPEEVT#<id>`, `PLATFORM#STRIPEOBJ#<id>` | `EVENT`, `LAST` | GetItem |
| user by email (case-folded) | `PLATFORM#EMAIL#<email>` | `USER` | GetItem |
| user profile, a user's tenants, a user's live reset token | `PLATFORM#USER#<user>` | `PROFILE`, `TENANT#<t>`, `PWRESET` | GetItem / Query prefix |
| revoked refresh tokens, reset tokens | `PLATFORM#REVOKED#<sha256>`, `PLATFORM#PWRESET#<sha256>` | `TOKEN` | GetItem |
| sign-in failures and reset requests per email in a window | `PLATFORM#LOGINFAIL#<sha256>`, `PLATFORM#PWRESETRATE#<sha256>` | `WINDOW#<start>` | atomic ADD |
| OIDC subject → user | `PLATFORM#OIDC#<sha256(issuer)>` | `SUB#<subject>` | GetItem |
| platform operators | `PLATFORM#OPERATOR#<user>` | `OPERATOR` | GetItem |
| catalog: plans (and by code), prices, features, meters, coupons, tax rates, the default plan, the active rate per region | `PLATFORM#CATALOG` | `PLAN#`, `PLANCODE#`, `PRICE#<plan>#<id>`, `FEATURE#`, `METER#`, `COUPON#`, `TAXRATE#`, `DEFAULTPLAN`, `ACTIVETAXRATE#<country>#<region>` | GetItem / Query prefix |
| usage: raw events (dedupe), period and day aggregates per shard, unique values, thresholds | `TENANT#<t>#USAGE` | `EVT#<id>`, `AGG#<meter>#<period>#<shard>`, `DAY#<meter>#<day>#<shard>`, `UNIQ#...`, `THRESHOLD#...` | GetItem / Query prefix |
| credit wallet, grants, ledger | `TENANT#<t>#CREDITS` | `WALLET`, `GRANT#<id>`, `LEDGER#<version>#<n>` | GetItem / Query prefix |
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from wrapper.kernel.tenant import TENANT_PREFIX as TENANT_PREFIX
from wrapper.kernel.tenant import TenantContext
from wrapper.kernel.tenant import tenant_pk as tenant_pk

PLATFORM_PREFIX = "PLATFORM#"


def platform_pk(kind: str) -> str:
    return f"{PLATFORM_PREFIX}{kind}"


def digest(value: str) -> str:
    """The SHA-256 of a secret or a caller's value, in hex: what keys hold instead of the value.
    A token or key carrying 128+ random bits needs no salt or stretching."""
    return hashlib.sha256(value.encode()).hexdigest()


# -- a tenant's own partition: TENANT#<t> ------------------------------------------------------------------------
PROFILE_SK = "PROFILE"
MEMBER_PREFIX = "MEMBER#"
INVITE_PREFIX = "INVITE#"
ROLE_PREFIX = "ROLE#"
ROLE_COUNT_SK = "ROLECOUNT"
ORG_PREFIX = "ORG#"
ORG_TREE_SK = "ORGTREE"
ORG_MEMBER_PREFIX = "ORGMEMBER#"
APIKEY_SK_PREFIX = "APIKEY#"
RATE_PREFIX = "RATE#"
AUDIT_SK_PREFIX = "AUDIT#"
AUDIT_MARKER_PREFIX = "AUDITEVT#"
OUTBOX_SK_PREFIX = "OUTBOX#"
IDEMPOTENCY_PREFIX = "IDEMPOTENCY#"
SUBSCRIPTION_SK = "SUBSCRIPTION"
HISTORY_PREFIX = "SUBHIST#"
BILLING_SK = "BILLING"
CHECKOUT_PREFIX = "CHECKOUT#"
STRIPE_EVENT_PREFIX = "STRIPEEVT#"
CHARGE_PREFIX = "CHARGE#"
TRIAL_NOTICE_PREFIX = "TRIALNOTICE#"
COUPON_USE_PREFIX = "COUPONUSE#"
INVOICE_PREFIX = "INVOICE#"
DUNNING_PREFIX = "DUNNING#"
CREDIT_NOTE_PREFIX = "CREDITNOTE#"


def member_sk(user_id: str) -> str:
    return f"{MEMBER_PREFIX}{user_id}"


def invite_sk(email: str) -> str:
    return f"{INVITE_PREFIX}{email}"


def role_sk(name: str) -> str:
    return f"{ROLE_PREFIX}{name}"


def org_sk(org_id: str) -> str:
    return f"{ORG_PREFIX}{org_id}"


def org_assignment_sk(user_id: str, org_id: str) -> str:
    return f"{ORG_MEMBER_PREFIX}{user_id}#{org_id}"


def org_assignments_prefix(user_id: str) -> str:
    """The units one member is assigned to."""
    return f"{ORG_MEMBER_PREFIX}{user_id}#"


def api_key_sk(key_id: str) -> str:
    return f"{APIKEY_SK_PREFIX}{key_id}"


def rate_sk(window_start: int) -> str:
    return f"{RATE_PREFIX}{window_start}"


def audit_sk(occurred_at: str, event_id: str) -> str:
    return f"{AUDIT_SK_PREFIX}{occurred_at}#{event_id}"


def audit_marker_sk(event_id: str) -> str:
    return f"{AUDIT_MARKER_PREFIX}{event_id}"


def outbox_sk(event_id: str) -> str:
    return f"{OUTBOX_SK_PREFIX}{event_id}"


def idempotency_sk(key: str) -> str:
    return IDEMPOTENCY_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def dunning_sk(invoice_id: str) -> str:
    return f"{DUNNING_PREFIX}{invoice_id}"


def invoice_sk(invoice_id: str) -> str:
    return f"{INVOICE_PREFIX}{invoice_id}"


def credit_note_sk(credit_note_id: str) -> str:
    return f"{CREDIT_NOTE_PREFIX}{credit_note_id}"


def credit_notes_index_pk(tenant: TenantContext) -> str:
    """GSI1: a tenant's credit notes, sorted by ``credit_note_index_sk`` (creation time): newest first."""
    return f"{tenant.pk}#CREDITNOTES"


def credit_note_index_sk(created_at: datetime, credit_note_id: str) -> str:
    # To the microsecond: two notes issued within one second still list newest first.
    return f"{CREDIT_NOTE_PREFIX}{created_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}#{credit_note_id}"


def coupon_use_sk(code: str) -> str:
    return f"{COUPON_USE_PREFIX}{code.upper()}"


def usage_pk(tenant: TenantContext) -> str:
    return f"{tenant.pk}#USAGE"


def credits_pk(tenant: TenantContext) -> str:
    return f"{tenant.pk}#CREDITS"


# -- the platform's partitions: PLATFORM#... ---------------------------------------------------------------------
PLATFORM_AUDIT_PK = platform_pk("AUDIT")
PLATFORM_OUTBOX_PK = platform_pk("OUTBOX")
CATALOG_PK = platform_pk("CATALOG")
USER_SK = "USER"  # the email's user
MEMBERSHIP_PREFIX = TENANT_PREFIX  # a user's tenants, under the user's partition
RESET_POINTER_SK = "PWRESET"
TOKEN_SK = "TOKEN"  # noqa: S105 - a sort key, not a secret
INVITE_TOKEN_SK = "INVITE"  # noqa: S105 - a sort key, not a secret
API_KEY_LOOKUP_SK = "KEY"
OPERATOR_SK = "OPERATOR"
STRIPE_CUSTOMER_SK = "TENANT"
STRIPE_EVENT_SK = "EVENT"
STRIPE_OBJECT_LAST_SK = "LAST"
DEFAULT_PLAN_SK = "DEFAULTPLAN"
COUNTER_SK = "COUNTER"


def invoice_series_pk(series: str) -> str:
    return platform_pk(f"INVOICESERIES#{series}")


def email_pk(email: str) -> str:
    return platform_pk(f"EMAIL#{email}")


def user_pk(user_id: str) -> str:
    return platform_pk(f"USER#{user_id}")


def membership_sk(tenant_id: str) -> str:
    return f"{MEMBERSHIP_PREFIX}{tenant_id}"


def revoked_token_pk(token_digest: str) -> str:
    return platform_pk(f"REVOKED#{token_digest}")


def login_failures_pk(email_digest: str) -> str:
    return platform_pk(f"LOGINFAIL#{email_digest}")


def reset_token_pk(token_digest: str) -> str:
    return platform_pk(f"PWRESET#{token_digest}")


def reset_requests_pk(email_digest: str) -> str:
    return platform_pk(f"PWRESETRATE#{email_digest}")


def window_sk(window_start: int) -> str:
    return f"WINDOW#{window_start}"


def invite_token_pk(token_digest: str) -> str:
    return platform_pk(f"INVITE#{token_digest}")


def api_key_lookup_pk(key_digest: str) -> str:
    return platform_pk(f"APIKEY#{key_digest}")


def oidc_pk(issuer: str) -> str:
    return platform_pk(f"OIDC#{digest(issuer)}")


def oidc_subject_sk(subject: str) -> str:
    return f"SUB#{subject}"


def operator_pk(user_id: str) -> str:
    return platform_pk(f"OPERATOR#{user_id}")


def stripe_customer_pk(customer_id: str) -> str:
    return platform_pk(f"STRIPECUST#{customer_id}")


def stripe_event_pk(event_id: str) -> str:
    return platform_pk(f"STRIPEEVT#{event_id}")


def stripe_object_pk(object_id: str) -> str:
    return platform_pk(f"STRIPEOBJ#{object_id}")


def due_pk(day: date) -> str:
    """GSI1: the subscriptions whose period ends on ``day`` (UTC)."""
    return platform_pk(f"DUE#{day.isoformat()}")


# GSI1: every invoice of every tenant, its sort key its own (``invoice_sk``). Invoice ids begin with the
# issue day, so the partition reads newest first by day like a tenant's own, and an id alone finds its
# tenant with one exact Query. One partition, not one per month: a month's partition would leave the
# newest-first list no way to know where to start or stop, and its write rate is bounded well below the
# index partition's 1,000 WCU/s by the gapless numbering, which passes every issued invoice through one
# counter item.
INVOICES_INDEX_PK = platform_pk("INVOICES")


# -- the catalog: PLATFORM#CATALOG -------------------------------------------------------------------------------
PLAN_PREFIX = "PLAN#"
PRICE_PREFIX = "PRICE#"
FEATURE_PREFIX = "FEATURE#"
METER_PREFIX = "METER#"
COUPON_PREFIX = "COUPON#"
TAX_RATE_PREFIX = "TAXRATE#"


def plan_sk(plan_id: str) -> str:
    return f"{PLAN_PREFIX}{plan_id}"


def plan_code_sk(code: str) -> str:
    return f"PLANCODE#{code}"


def price_sk(plan_id: str, price_id: str) -> str:
    return f"{PRICE_PREFIX}{plan_id}#{price_id}"


def plan_prices_prefix(plan_id: str) -> str:
    return f"{PRICE_PREFIX}{plan_id}#"


def feature_sk(code: str) -> str:
    return f"{FEATURE_PREFIX}{code}"


def meter_sk(code: str) -> str:
    return f"{METER_PREFIX}{code}"


def coupon_sk(code: str) -> str:
    return f"{COUPON_PREFIX}{code.upper()}"


def tax_rate_sk(rate_id: str) -> str:
    return f"{TAX_RATE_PREFIX}{rate_id}"


def active_tax_rate_sk(country: str, region: str | None) -> str:
    return f"ACTIVETAXRATE#{country}#{region or '-'}"


# -- usage: TENANT#<t>#USAGE -------------------------------------------------------------------------------------
USAGE_EVENT_PREFIX = "EVT#"


def stamp(at: datetime) -> str:
    """A period start as it appears in keys (UTC, sortable)."""
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def value_digest(value: str) -> str:
    return digest(value)[:32]


def usage_event_sk(event_id: str) -> str:
    return f"{USAGE_EVENT_PREFIX}{event_id}"


def period_prefix(meter: str, period_start: datetime) -> str:
    return f"AGG#{meter}#{stamp(period_start)}#"


def day_prefix(meter: str, day: date) -> str:
    return f"DAY#{meter}#{day.isoformat()}#"


def threshold_sk(meter: str, period_start: datetime, percent: int) -> str:
    return f"THRESHOLD#{meter}#{stamp(period_start)}#{percent}"


def unique_sk(meter: str, scope: str, value: str) -> str:
    return f"UNIQ#{meter}#{scope}#{value_digest(value)}"


# -- credits: TENANT#<t>#CREDITS ---------------------------------------------------------------------------------
WALLET_SK = "WALLET"
GRANT_PREFIX = "GRANT#"
LEDGER_PREFIX = "LEDGER#"


def grant_sk(grant_id: str) -> str:
    return f"{GRANT_PREFIX}{grant_id}"


def ledger_sk(version: int, n: int) -> str:
    # The wallet's version orders the entries exactly: every write bumps it.
    return f"{LEDGER_PREFIX}{version:012d}#{n:02d}"
