"""Tenant-scoped credentials: the session policy that confines DynamoDB access to one tenant.

moto does not evaluate IAM conditions, so these tests are what proves the policy locally.
``fnmatch.fnmatchcase`` stands in for IAM's ``StringLike`` (case-sensitive, ``*`` and ``?``).
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.unit.fakes import Clock
from wrapper.store.schema import CATALOG_PK, TENANT_PREFIX, tenant_pk, user_pk
from wrapper.tenancy.scoping import (
    MAX_POLICY_CHARS,
    assume_role_kwargs,
    leading_key_patterns,
    scoped_policy,
    session_name,
)

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/wrapper"
ROLE_ARN = "arn:aws:iam::123456789012:role/wrapper-tenant-access"
ITEM_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
    "dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
}
# The tenant-id shape of wrapper.store.schema, as a generator of valid ids.
TENANT_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
STS_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def statements(tenant_id: str = "acme") -> list[dict[str, Any]]:
    policy = scoped_policy(tenant_id, table_arn=TABLE_ARN)
    result: list[dict[str, Any]] = policy["Statement"]
    return result


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def allows(patterns: list[str], partition_key: str) -> bool:
    return any(fnmatchcase(partition_key, pattern) for pattern in patterns)


# --- the policy document -----------------------------------------------------------------

def test_the_policy_never_allows_a_scan() -> None:
    # Given / When a tenant's policy is built
    # Then no statement allows Scan (ForAllValues is true for a request with no leading key)
    assert all("dynamodb:Scan" not in actions_of(s) for s in statements())


def test_the_policy_has_no_wildcard_action() -> None:
    # Given / When a tenant's policy is built
    # Then no action has a wildcard in it
    assert all("*" not in action and "?" not in action for s in statements() for action in actions_of(s))


def test_the_policy_only_allows() -> None:
    # Given / When a tenant's policy is built
    # Then every statement is a plain Allow (no NotAction, no NotResource)
    assert all(s["Effect"] == "Allow" and "NotAction" not in s and "NotResource" not in s for s in statements())


def test_the_policy_allows_exactly_item_reads_writes_queries_and_batches() -> None:
    # Given / When a tenant's policy is built
    allowed = {action for s in statements() for action in actions_of(s)}

    # Then the allowed actions are the item actions, Query and the batch calls, nothing more
    assert allowed == ITEM_ACTIONS


def test_every_statement_carries_the_tenants_leading_keys_condition_and_no_other() -> None:
    # Given / When the policy of tenant acme is built
    # Then each statement is conditioned on exactly acme's partition key and those under it
    assert [s["Condition"] for s in statements("acme")] == [
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [tenant_pk("acme"), f"{tenant_pk('acme')}#*"]}},
    ] * len(statements("acme"))


def test_the_policy_covers_the_table_and_its_indexes_only() -> None:
    # Given / When a tenant's policy is built
    resources = [r for s in statements() for r in s["Resource"]]

    # Then it names the table and its indexes, and no other resource
    assert sorted(set(resources)) == [TABLE_ARN, f"{TABLE_ARN}/index/*"]


def test_indexes_may_only_be_queried() -> None:
    # Given / When a tenant's policy is built
    # Then the statement on the indexes allows Query and nothing else
    (on_indexes,) = [s for s in statements() if f"{TABLE_ARN}/index/*" in s["Resource"]]
    assert actions_of(on_indexes) == ["dynamodb:Query"]


@pytest.mark.parametrize("tenant_id", ["*", "acme*", "acme#admin", "acme/other", "ac?e", "", "acme corp", "a" * 65],
                         ids=["star", "trailing-star", "hash", "slash", "question-mark", "empty", "space", "65-chars"])
def test_a_tenant_id_that_could_widen_the_pattern_is_refused(tenant_id: str) -> None:
    # Given / When a policy is built for an id with a wildcard, a key separator or a bad length
    # Then it is refused by the key rule
    with pytest.raises(ValueError, match="not a tenant id"):
        scoped_policy(tenant_id, table_arn=TABLE_ARN)


@pytest.mark.parametrize("table_arn", ["*", "arn:aws:dynamodb:us-east-1:123456789012:table/*",
                                       "arn:aws:s3:::wrapper", "wrapper"],
                         ids=["star", "any-table", "not-dynamodb", "a-name"])
def test_a_table_arn_that_is_not_one_table_is_refused(table_arn: str) -> None:
    # Given / When a policy is built for something that is not one DynamoDB table
    # Then it is refused
    with pytest.raises(ValueError, match="not a DynamoDB table ARN"):
        scoped_policy("acme", table_arn=table_arn)


# --- isolation, as IAM's StringLike would evaluate it --------------------------------------

@settings(max_examples=300)
@given(tenant_id=TENANT_IDS)
def test_every_pattern_of_a_tenant_starts_with_its_partition_key(tenant_id: str) -> None:
    # Given / When the leading-key patterns of any valid tenant are built
    # Then each begins with that tenant's partition key
    assert all(p.startswith(tenant_pk(tenant_id)) for p in leading_key_patterns(tenant_id))


@settings(max_examples=300)
@given(tenant_id=TENANT_IDS, sort_of_key=st.from_regex(r"[A-Za-z0-9#_:-]{0,20}", fullmatch=True))
def test_a_tenant_reaches_its_own_partition_and_those_under_it(tenant_id: str, sort_of_key: str) -> None:
    # Given any valid tenant
    patterns = leading_key_patterns(tenant_id)

    # When / Then its own partition key and any key under it are allowed
    assert allows(patterns, tenant_pk(tenant_id))
    assert allows(patterns, f"{tenant_pk(tenant_id)}#{sort_of_key}")


@settings(max_examples=500)
@given(tenant_id=TENANT_IDS, other=TENANT_IDS, suffix=st.from_regex(r"[A-Za-z0-9#_:-]{0,20}", fullmatch=True))
@example(tenant_id="acme", other="acme2", suffix="")
@example(tenant_id="acme", other="acme2", suffix="#USAGE")
@example(tenant_id="acme", other="acm", suffix="")
@example(tenant_id="acme", other="acm", suffix="#MEMBERS")
@example(tenant_id="acm", other="acme", suffix="")
@example(tenant_id="acme", other="ACME", suffix="")
@example(tenant_id="acme", other="acme-corp", suffix="")
def test_no_pattern_of_a_tenant_matches_another_tenants_keys(tenant_id: str, other: str, suffix: str) -> None:
    # Given two different valid tenants
    if other == tenant_id:
        return

    # When the first tenant's patterns are matched against the other tenant's partition keys
    patterns = leading_key_patterns(tenant_id)
    others_keys = [tenant_pk(other), f"{tenant_pk(other)}#{suffix}"]

    # Then none of them is allowed
    assert not any(allows(patterns, key) for key in others_keys)


@pytest.mark.parametrize("key", [CATALOG_PK, user_pk("a@example.com"), TENANT_PREFIX, f"{TENANT_PREFIX}*", "acme"])
def test_a_tenant_reaches_no_platform_or_malformed_partition(key: str) -> None:
    # Given the patterns of tenant acme
    # When / Then a platform key or a malformed key is not allowed
    assert not allows(leading_key_patterns("acme"), key)


# --- sts.assume_role arguments -------------------------------------------------------------

def test_assume_role_arguments_for_a_tenant_are_exactly_what_sts_takes() -> None:
    # Given / When the assume-role arguments of tenant acme are built
    kwargs = assume_role_kwargs("acme", role_arn=ROLE_ARN, table_arn=TABLE_ARN)

    # Then they name the role, a tenant session of 15 minutes, the compact policy and the tenant tag
    assert kwargs == {
        "RoleArn": ROLE_ARN,
        "RoleSessionName": "tenant-acme",
        "Policy": json.dumps(scoped_policy("acme", table_arn=TABLE_ARN), separators=(",", ":")),
        "DurationSeconds": 900,
        "Tags": [{"Key": "tenant_id", "Value": "acme"}],
    }


def test_the_policy_argument_is_compact_json_of_the_scoped_policy() -> None:
    # Given / When the assume-role arguments are built
    policy = assume_role_kwargs("acme", role_arn=ROLE_ARN, table_arn=TABLE_ARN)["Policy"]

    # Then the policy is the scoped policy, with no whitespace to count against STS's limit
    assert json.loads(policy) == scoped_policy("acme", table_arn=TABLE_ARN)
    assert not re.search(r"\s", policy)


def test_the_policy_fits_sts_limit_for_the_longest_tenant_id_and_table_name() -> None:
    # Given the longest tenant id and table name there can be
    longest_table = "arn:aws-us-gov:dynamodb:us-gov-west-1:123456789012:table/" + "t" * 255

    # When the assume-role arguments are built
    policy = assume_role_kwargs("a" * 64, role_arn=ROLE_ARN, table_arn=longest_table)["Policy"]

    # Then the policy is within STS's inline session-policy limit
    assert len(policy) <= MAX_POLICY_CHARS


@settings(max_examples=300)
@given(tenant_id=TENANT_IDS)
def test_the_session_name_is_valid_for_sts_for_any_tenant(tenant_id: str) -> None:
    # Given / When the session name of any valid tenant is built
    name = session_name(tenant_id)

    # Then it is 2 to 64 characters of STS's alphabet, and starts tenant-
    assert STS_SESSION_NAME.fullmatch(name)
    assert name.startswith("tenant-")


def test_a_long_tenant_id_is_truncated_in_the_session_name_but_whole_in_the_tag() -> None:
    # Given a tenant id of 64 characters
    tenant_id = "T" * 64

    # When the assume-role arguments are built
    kwargs = assume_role_kwargs(tenant_id, role_arn=ROLE_ARN, table_arn=TABLE_ARN)

    # Then the session name is cut to 64 characters and the tag carries the whole id
    assert kwargs["RoleSessionName"] == ("tenant-" + tenant_id)[:64]
    assert kwargs["Tags"] == [{"Key": "tenant_id", "Value": tenant_id}]


def test_a_session_longer_than_fifteen_minutes_may_be_asked_for() -> None:
    # Given / When a one-hour session is asked for
    kwargs = assume_role_kwargs("acme", role_arn=ROLE_ARN, table_arn=TABLE_ARN, duration_seconds=3600)

    # Then the arguments ask STS for one hour
    assert kwargs["DurationSeconds"] == 3600


@pytest.mark.parametrize("seconds", [899, 43_201, 0], ids=["under-15-min", "over-12-h", "zero"])
def test_a_duration_sts_would_refuse_is_refused(seconds: int) -> None:
    # Given / When a duration outside STS's 900..43200 seconds is asked for
    # Then it is refused before calling STS
    with pytest.raises(ValueError, match="duration_seconds"):
        assume_role_kwargs("acme", role_arn=ROLE_ARN, table_arn=TABLE_ARN, duration_seconds=seconds)


@pytest.mark.parametrize("role_arn", ["*", "arn:aws:iam::123456789012:user/bob", "wrapper-tenant-access"],
                         ids=["star", "a-user", "a-name"])
def test_a_role_arn_that_is_not_an_iam_role_is_refused(role_arn: str) -> None:
    # Given / When the arguments name something that is not an IAM role
    # Then it is refused
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        assume_role_kwargs("acme", role_arn=role_arn, table_arn=TABLE_ARN)


@pytest.mark.parametrize("tenant_id", ["acme#admin", "acme/other", "acme*"], ids=["hash", "slash", "star"])
def test_assume_role_arguments_refuse_a_bad_tenant_id(tenant_id: str) -> None:
    # Given / When assume-role arguments are built for an id that could break out of its key
    # Then they are refused by the key rule
    with pytest.raises(ValueError, match="not a tenant id"):
        assume_role_kwargs(tenant_id, role_arn=ROLE_ARN, table_arn=TABLE_ARN)


# --- ScopedTables ----------------------------------------------------------------------------
class _Sts:
    def __init__(self, lifetime: float) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lifetime = lifetime

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        from datetime import UTC, datetime

        self.calls.append(kwargs)
        n = len(self.calls)
        return {"Credentials": {"AccessKeyId": f"ASIA{n}", "SecretAccessKey": "s", "SessionToken": "t",
                                "Expiration": datetime.fromtimestamp(1_000 + self.lifetime * n, UTC)}}


def _tables(sts: _Sts, clock: Clock[float], role_arn: str = ROLE_ARN) -> Any:
    from wrapper.store.table import Table
    from wrapper.tenancy.scoping import ScopedTables

    return ScopedTables(sts_client=sts, role_arn=role_arn, table=Table(object(), "wrapper"), table_arn=TABLE_ARN,
                        client_factory=lambda credentials: credentials["AccessKeyId"], clock=clock)


def test_credentials_are_assumed_once_per_tenant_and_reused_until_near_expiry() -> None:
    from wrapper.kernel.tenant import TenantContext

    sts, clock = _Sts(lifetime=900), Clock(1_000.0)
    tables = _tables(sts, clock)
    first = tables.for_tenant(TenantContext("acme"))
    assert tables.for_tenant(TenantContext("acme")) is first
    assert first.client == "ASIA1" and first.name == "wrapper"
    assert json.loads(sts.calls[0]["Policy"]) == scoped_policy("acme", table_arn=TABLE_ARN)
    assert tables.for_tenant(TenantContext("globex")).client == "ASIA2"
    clock.now = 1_000 + 900 - 59  # inside the refresh margin of acme's credentials
    assert tables.for_tenant(TenantContext("acme")).client == "ASIA3"
    assert [c["Tags"][0]["Value"] for c in sts.calls] == ["acme", "globex", "acme"]


def test_without_a_role_the_functions_own_table_is_used() -> None:
    from wrapper.kernel.tenant import TenantContext

    sts = _Sts(lifetime=900)
    tables = _tables(sts, Clock(0.0), role_arn="")
    assert tables.for_tenant(TenantContext("acme")) is tables.table
    assert sts.calls == []


def test_the_credentials_cache_is_bounded() -> None:
    from wrapper.kernel.tenant import TenantContext

    tables = _tables(_Sts(lifetime=10_000), Clock(1_000.0))
    for n in range(tables.MAX_CACHED_TENANTS + 10):
        tables.for_tenant(TenantContext(f"t{n}"))
    assert len(tables._cache) == tables.MAX_CACHED_TENANTS
    assert "t0" not in tables._cache and f"t{tables.MAX_CACHED_TENANTS + 9}" in tables._cache
