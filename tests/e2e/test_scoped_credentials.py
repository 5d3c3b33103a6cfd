"""Tenant-scoped credentials, end to end: the tenants function reads and writes its tenant's
items through an STS session confined to ``TENANT#<id>``, and the local cloud refuses that
session anything else — as IAM does on AWS — so a bug that builds another tenant's key fails."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support import call, signup, table
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import PROFILE_SK, credits_pk, membership_sk, tenant_pk, usage_event_sk, usage_pk, user_pk


def _sessions_of(cloud: Any, tenant_id: str) -> list[Any]:
    return [s for s in cloud.scoped_sessions.values() if s.tags.get("tenant_id") == tenant_id]


@pytest.fixture(scope="module")
def tenants(cloud: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return signup(cloud, "Scoped A"), signup(cloud, "Scoped B")


def test_tenant_requests_run_on_a_session_scoped_to_that_tenant(cloud: Any, tenants: Any) -> None:
    a, _ = tenants
    assert call(cloud, "GET", "/v1/tenant", a).status_code == 200
    assert call(cloud, "PATCH", "/v1/tenant", a, body={"name": "Scoped A2"}).status_code == 200
    assert call(cloud, "GET", "/v1/members", a).status_code == 200
    sessions = _sessions_of(cloud, a["tenant_id"])
    assert len(sessions) == 1, "one session per tenant, reused while its credentials last"
    assert sessions[0].calls >= 3
    patterns = sessions[0].policy["Statement"][0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert patterns == [tenant_pk(a["tenant_id"]), f"{tenant_pk(a['tenant_id'])}#*"]


def test_a_key_built_for_another_tenant_is_refused_by_the_scoped_session(cloud: Any, tenants: Any) -> None:
    """The defence in depth: the function's own scoped table, handed a wrong key, is refused."""
    a, b = tenants
    module = cloud.runtime.module(next(n for n in cloud.stack.functions if "TenantsFunction" in n))
    scoped = module.tenant_tables.for_tenant(TenantContext(tenant_id=a["tenant_id"]))
    assert scoped.get(tenant_pk(a["tenant_id"]), PROFILE_SK) is not None
    with pytest.raises(ClientError) as refused:
        scoped.get(tenant_pk(b["tenant_id"]), PROFILE_SK)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError):
        scoped.put({"PK": tenant_pk(b["tenant_id"]), "SK": PROFILE_SK, "name": "pwned"})
    with pytest.raises(ClientError):  # platform items are out of reach too
        scoped.get(user_pk(b["user_id"]), membership_sk(b["tenant_id"]))
    with pytest.raises(ClientError):  # a transaction is refused whole if one part is out of scope
        scoped.transact([{"Put": {"Item": {"PK": {"S": tenant_pk(a["tenant_id"])}, "SK": {"S": "X"}}}},
                         {"Put": {"Item": {"PK": {"S": tenant_pk(b["tenant_id"])}, "SK": {"S": "X"}}}}])
    assert table(cloud).get(tenant_pk(b["tenant_id"]), PROFILE_SK)["name"] == "Scoped B"
    assert table(cloud).get(tenant_pk(a["tenant_id"]), "X") is None


def test_a_scoped_session_cannot_scan_or_query_another_partition(cloud: Any, tenants: Any) -> None:
    from wrapper.tenancy.scoping import assume_role_kwargs

    a, b = tenants
    role_arn = cloud.client("iam").get_role(RoleName=cloud.stack.resources["TenantAccessRole"].ref)["Role"]["Arn"]
    name = cloud.stack.outputs["TableName"]
    table_arn = cloud.client("dynamodb").describe_table(TableName=name)["Table"]["TableArn"]
    credentials = cloud.client("sts").assume_role(**assume_role_kwargs(
        a["tenant_id"], role_arn=role_arn, table_arn=table_arn))["Credentials"]
    dynamodb = boto3.client("dynamodb", region_name=cloud.config.region, endpoint_url=cloud.aws_endpoint,
                            aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])

    def query(tenant_id: str) -> Any:
        return dynamodb.query(TableName=name, KeyConditionExpression="PK = :pk",
                              ExpressionAttributeValues={":pk": {"S": tenant_pk(tenant_id)}})

    assert query(a["tenant_id"])["Items"]
    for refused in (lambda: query(b["tenant_id"]), lambda: dynamodb.scan(TableName=name),
                    lambda: dynamodb.describe_table(TableName=name)):
        with pytest.raises(ClientError) as denied:
            refused()
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_usage_and_the_credit_wallet_are_written_through_the_tenants_scoped_session(cloud: Any) -> None:
    """The usage function, the hot path: each tenant's events and wallet go through its own session."""
    from wrapper.catalog.seed_data import seed_catalog

    seed_catalog(table(cloud))  # the meters
    owner, other = signup(cloud, "Scoped usage"), signup(cloud, "Scoped usage other")
    event = {"event_id": "scoped-1", "name": "api_call", "timestamp": _now(), "properties": {"user_id": "u1"}}
    answer = call(cloud, "POST", "/v1/usage/events", owner, body={"events": [event]})
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "accepted", answer.text
    assert call(cloud, "GET", "/v1/credits", owner).status_code == 200
    sessions = _sessions_of(cloud, owner["tenant_id"])
    assert len(sessions) == 1 and sessions[0].calls >= 3
    cloud.runtime.module(next(n for n in cloud.stack.functions if "UsageFunction" in n))  # loaded, warm
    import usage_wiring  # the usage function's own module (its code directory is on the path while it runs)

    scoped = usage_wiring.tenant_tables.for_tenant(TenantContext(tenant_id=owner["tenant_id"]))
    assert scoped.get(usage_pk(TenantContext(owner["tenant_id"])), usage_event_sk("scoped-1")) is not None
    for refused_pk in (usage_pk(TenantContext(other["tenant_id"])), credits_pk(TenantContext(other["tenant_id"]))):
        with pytest.raises(ClientError) as refused:
            scoped.query(refused_pk, limit=1)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
