"""Key building: tenant partitions from a checked tenant context, platform partitions by kind."""

from __future__ import annotations

import pytest
from ulid import ULID

from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import platform_pk, tenant_pk

NOT_TENANT_IDS = pytest.mark.parametrize("tenant_id", ["acme#admin", "acme/other", "", "a" * 65, "acme corp"],
                                         ids=["hash", "slash", "empty", "65-chars", "space"])


@NOT_TENANT_IDS
def test_a_tenant_context_refuses_an_id_that_could_break_out_of_its_key(tenant_id: str) -> None:
    # Given / When a context is made for an id with a key separator, none at all, or too long
    # Then it is refused
    with pytest.raises(ValueError, match="not a tenant id"):
        TenantContext(tenant_id)


@NOT_TENANT_IDS
def test_a_tenant_partition_key_refuses_the_same_ids(tenant_id: str) -> None:
    # Given / When a partition key is built from such an id
    # Then it is refused
    with pytest.raises(ValueError, match="not a tenant id"):
        tenant_pk(tenant_id)


@pytest.mark.parametrize("tenant_id", [str(ULID()), "a" * 64, "acme-corp_2"], ids=["ulid", "64-chars", "slug"])
def test_a_tenant_context_takes_ulids_and_slugs(tenant_id: str) -> None:
    # Given / When a context is made for a ULID or a slug of up to 64 characters
    context = TenantContext(tenant_id)

    # Then its partition key is TENANT#<id>
    assert context.pk == f"TENANT#{tenant_id}"


def test_a_tenant_context_refuses_an_id_with_a_trailing_newline() -> None:
    # Given / When a context is made for an id followed by a newline
    # Then it is refused
    with pytest.raises(ValueError, match="not a tenant id"):
        TenantContext("acme\n")


def test_a_tenant_context_acts_as_system_unless_told() -> None:
    # Given / When a context is made with only a tenant id
    context = TenantContext("acme")

    # Then its principal and role are "system"
    assert (context.principal, context.role) == ("system", "system")


def test_a_tenant_context_cannot_be_retargeted() -> None:
    # Given a context of tenant acme
    context = TenantContext("acme")

    # When its tenant is changed
    # Then the change is refused
    with pytest.raises(AttributeError):
        context.tenant_id = "other"  # type: ignore[misc]


def test_a_tenant_partition_key_begins_with_tenant() -> None:
    # Given / When a tenant partition key is built / Then it is TENANT#<id>
    assert tenant_pk("acme") == "TENANT#acme"


def test_a_platform_partition_key_begins_with_platform() -> None:
    # Given / When a platform partition key is built / Then it is PLATFORM#<kind>
    assert platform_pk("CATALOG") == "PLATFORM#CATALOG"


def test_every_key_is_spelled_as_the_items_in_the_table_are() -> None:
    """The table holds items under these keys already, so a builder that spells one differently strands them.
    The other tests build their keys here; this one holds each builder to its spelling, letter by letter."""
    import hashlib
    from datetime import UTC, date, datetime, timedelta, timezone

    from wrapper.store import schema as s

    def sha(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    acme = TenantContext("acme")
    march = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=9)))  # 2026-03-01T00:00Z
    # Given / When each builder builds a key
    built_and_spelled = [
        (s.member_sk("u1"), "MEMBER#u1"), (s.invite_sk("a@b.example"), "INVITE#a@b.example"),
        (s.role_sk("support"), "ROLE#support"), (s.ROLE_COUNT_SK, "ROLECOUNT"), (s.org_sk("o1"), "ORG#o1"),
        (s.ORG_TREE_SK, "ORGTREE"), (s.org_assignment_sk("u1", "o1"), "ORGMEMBER#u1#o1"),
        (s.org_assignments_prefix("u1"), "ORGMEMBER#u1#"), (s.api_key_sk("k1"), "APIKEY#k1"),
        (s.rate_sk(1_700_000_000), "RATE#1700000000"),
        (s.audit_sk("2024-01-01T00:00:00Z", "e1"), "AUDIT#2024-01-01T00:00:00Z#e1"),
        (s.audit_marker_sk("e1"), "AUDITEVT#e1"), (s.outbox_sk("e1"), "OUTBOX#e1"),
        (s.idempotency_sk("k"), f"IDEMPOTENCY#{sha('k')}"), (s.coupon_use_sk("quarter"), "COUPONUSE#QUARTER"),
        (s.PROFILE_SK, "PROFILE"), (s.SUBSCRIPTION_SK, "SUBSCRIPTION"), (s.HISTORY_PREFIX, "SUBHIST#"),
        (s.BILLING_SK, "BILLING"), (s.CHECKOUT_PREFIX, "CHECKOUT#"), (s.STRIPE_EVENT_PREFIX, "STRIPEEVT#"),
        (s.CHARGE_PREFIX, "CHARGE#"), (s.TRIAL_NOTICE_PREFIX, "TRIALNOTICE#"),
        (s.usage_pk(acme), "TENANT#acme#USAGE"), (s.credits_pk(acme), "TENANT#acme#CREDITS"),
        (s.PLATFORM_AUDIT_PK, "PLATFORM#AUDIT"), (s.PLATFORM_OUTBOX_PK, "PLATFORM#OUTBOX"),
        (s.email_pk("ada@example.com"), "PLATFORM#EMAIL#ada@example.com"), (s.USER_SK, "USER"),
        (s.user_pk("u1"), "PLATFORM#USER#u1"), (s.membership_sk("acme"), "TENANT#acme"),
        (s.RESET_POINTER_SK, "PWRESET"), (s.revoked_token_pk("d1"), "PLATFORM#REVOKED#d1"), (s.TOKEN_SK, "TOKEN"),
        (s.login_failures_pk("d1"), "PLATFORM#LOGINFAIL#d1"), (s.reset_token_pk("d1"), "PLATFORM#PWRESET#d1"),
        (s.reset_requests_pk("d1"), "PLATFORM#PWRESETRATE#d1"), (s.window_sk(900), "WINDOW#900"),
        (s.invite_token_pk("d1"), "PLATFORM#INVITE#d1"), (s.INVITE_TOKEN_SK, "INVITE"),
        (s.api_key_lookup_pk("d1"), "PLATFORM#APIKEY#d1"), (s.API_KEY_LOOKUP_SK, "KEY"),
        (s.oidc_pk("https://issuer.example"), f"PLATFORM#OIDC#{sha('https://issuer.example')}"),
        (s.oidc_subject_sk("s1"), "SUB#s1"), (s.operator_pk("u1"), "PLATFORM#OPERATOR#u1"),
        (s.OPERATOR_SK, "OPERATOR"), (s.stripe_customer_pk("cus_1"), "PLATFORM#STRIPECUST#cus_1"),
        (s.STRIPE_CUSTOMER_SK, "TENANT"), (s.stripe_event_pk("evt_1"), "PLATFORM#STRIPEEVT#evt_1"),
        (s.STRIPE_EVENT_SK, "EVENT"), (s.stripe_object_pk("sub_1"), "PLATFORM#STRIPEOBJ#sub_1"),
        (s.STRIPE_OBJECT_LAST_SK, "LAST"), (s.due_pk(date(2024, 3, 1)), "PLATFORM#DUE#2024-03-01"),
        (s.CATALOG_PK, "PLATFORM#CATALOG"), (s.DEFAULT_PLAN_SK, "DEFAULTPLAN"), (s.plan_sk("p1"), "PLAN#p1"),
        (s.plan_code_sk("pro"), "PLANCODE#pro"), (s.price_sk("p1", "pr1"), "PRICE#p1#pr1"),
        (s.plan_prices_prefix("p1"), "PRICE#p1#"), (s.feature_sk("sso"), "FEATURE#sso"),
        (s.meter_sk("api_calls"), "METER#api_calls"), (s.coupon_sk("quarter"), "COUPON#QUARTER"),
        (s.tax_rate_sk("t1"), "TAXRATE#t1"), (s.active_tax_rate_sk("US", "CA"), "ACTIVETAXRATE#US#CA"),
        (s.active_tax_rate_sk("NL", None), "ACTIVETAXRATE#NL#-"), (s.stamp(march), "20260301T000000Z"),
        (s.usage_event_sk("e1"), "EVT#e1"), (s.period_prefix("api_calls", march), "AGG#api_calls#20260301T000000Z#"),
        (s.day_prefix("api_calls", date(2026, 3, 1)), "DAY#api_calls#2026-03-01#"),
        (s.threshold_sk("api_calls", march, 80), "THRESHOLD#api_calls#20260301T000000Z#80"),
        (s.unique_sk("active_users", "period", "u1"), f"UNIQ#active_users#period#{sha('u1')[:32]}"),
        (s.WALLET_SK, "WALLET"), (s.grant_sk("g1"), "GRANT#g1"), (s.ledger_sk(7, 3), "LEDGER#000000000007#03"),
        (s.stamp(datetime(2026, 3, 1, tzinfo=UTC)), "20260301T000000Z"),
        (s.invoice_sk("in_1"), "INVOICE#in_1"), (s.dunning_sk("in_1"), "DUNNING#in_1"), (s.INVOICE_PREFIX, "INVOICE#"),
        (s.INVOICES_INDEX_PK, "PLATFORM#INVOICES"),
        (s.invoice_series_pk("INV-2026"), "PLATFORM#INVOICESERIES#INV-2026"), (s.COUNTER_SK, "COUNTER"),
    ]

    # Then each is spelled as the items already stored are
    assert [built for built, _ in built_and_spelled] == [spelled for _, spelled in built_and_spelled]
