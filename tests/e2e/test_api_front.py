"""HTTP against the local API front, as a client calls it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support import REPO, wait_for

PROBLEM = "application/problem+json"


def test_health_answers_200_json_with_every_dependency_checked(cloud: Any) -> None:
    answer = requests.get(f"{cloud.api_url}/v1/health", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert {"table", "event_bus"} <= set(body["checks"])
    assert sum(name.startswith("queue:") for name in body["checks"]) == 3
    assert all(check["ok"] for check in body["checks"].values())


def test_a_request_id_sent_by_the_client_is_echoed(cloud: Any) -> None:
    answer = requests.get(f"{cloud.api_url}/v1/health", headers={"X-Request-Id": "client-req-42"}, timeout=10)
    assert answer.headers["X-Request-Id"] == "client-req-42"


@pytest.mark.parametrize("offered", [None, "has spaces in it", "x" * 200])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(cloud: Any, offered: str | None) -> None:
    headers = {"X-Request-Id": offered} if offered else {}
    answer = requests.get(f"{cloud.api_url}/v1/health", headers=headers, timeout=10)
    generated = answer.headers["X-Request-Id"]
    assert generated and generated != offered
    assert len(generated) == 36  # the API front's request id, a UUID


def test_an_unknown_route_is_404_problem_json(cloud: Any) -> None:
    answer = requests.get(f"{cloud.api_url}/v1/no-such-thing", timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == PROBLEM
    body = answer.json()
    assert body["type"] == "urn:wrapper:problem:not-found"
    assert body["status"] == 404
    assert "/v1/no-such-thing" in body["detail"]
    assert answer.headers["X-Request-Id"]


def test_a_known_path_with_another_method_is_405_problem_json_with_allow(cloud: Any) -> None:
    answer = requests.delete(f"{cloud.api_url}/v1/health", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["Content-Type"] == PROBLEM
    assert "GET" in answer.headers["Allow"]
    assert answer.json()["status"] == 405


def test_a_body_over_api_gateways_10_mb_limit_is_413_problem_json(cloud: Any) -> None:
    answer = requests.post(f"{cloud.api_url}/v1/health", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert answer.status_code == 413
    assert answer.headers["Content-Type"] == PROBLEM


def test_cors_preflight_answers_from_the_templates_cors_settings(cloud: Any) -> None:
    answer = requests.options(f"{cloud.api_url}/v1/health", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-Id" in answer.headers["Access-Control-Allow-Headers"]


def test_the_openapi_document_is_served_and_is_the_generated_one(cloud: Any) -> None:
    answer = requests.get(f"{cloud.api_url}/v1/openapi.json", timeout=10)
    assert answer.status_code == 200
    served = answer.json()
    assert served == json.loads((REPO / "layers/core/wrapper/openapi.json").read_text())
    assert served["openapi"] == "3.1.0"
    template_paths = set(cloud.stack.resources["Api"].properties["Body"]["paths"])
    assert set(served["paths"]) == template_paths


def test_the_aws_endpoint_works_with_plain_aws_endpoint_url(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.aws_endpoint)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    tables = session.client("dynamodb").list_tables()["TableNames"]
    assert cloud.stack.outputs["TableName"] in tables


def test_the_aws_endpoint_works_with_localstack_client(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from localstack_client.session import Session

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    session = Session(localstack_host=cloud.aws_endpoint.removeprefix("http://"), region_name="us-east-1")
    buses = [b["Name"] for b in session.client("events").list_event_buses()["EventBuses"]]
    assert cloud.stack.outputs["EventBusName"] in buses


# --------------------------------------------------------------------------- a stack of our own
@pytest.fixture(scope="module")
def front(cloud: Any) -> Iterator[Any]:
    """tests/fixtures/frontstack deployed beside the main stack, served on its own port."""
    from localcloud.apifront import ApiFront, RestApi

    stack = cloud.deploy(REPO / "tests/fixtures/frontstack/template.yaml", stack_name="frontstack", parameters={})
    api = ApiFront(RestApi(stack, "FrontApi"), cloud.runtime, host="127.0.0.1", port=0)
    api.start()
    api.stack = stack
    yield api
    api.stop()


def _url(front: Any, path: str) -> str:
    return f"http://127.0.0.1:{front.port}{path}"


def _authorizer_calls(cloud: Any, front: Any) -> int:
    calls: int = cloud.runtime.invocations.get(front.stack.function_by_logical_id("AuthorizerFunction").name, 0)
    return calls


def test_a_protected_route_without_credentials_is_401_and_the_authorizer_is_not_called(
        cloud: Any, front: Any) -> None:
    before = _authorizer_calls(cloud, front)
    answer = requests.get(_url(front, "/v1/things/1"), timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert _authorizer_calls(cloud, front) == before


@pytest.mark.parametrize(("token", "status"), [("nonsense", 401), ("deny", 403), ("broken", 500)])
def test_the_authorizers_verdict_decides_the_answer(front: Any, token: str, status: int) -> None:
    answer = requests.get(_url(front, "/v1/things/1"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == status


def test_an_allowed_caller_reaches_the_function_with_the_authorizer_context(front: Any) -> None:
    answer = requests.get(_url(front, "/v1/things/42?tag=a&tag=b&page=2"),
                          headers={"Authorization": "Bearer allow-tenant-a"}, timeout=10)
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["resource"] == "/v1/things/{thing_id}"
    assert seen["pathParameters"] == {"thing_id": "42"}
    assert seen["queryStringParameters"] == {"tag": "b", "page": "2"}
    assert seen["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "page": ["2"]}
    assert seen["authorizer"]["tenant_id"] == "tenant-a"
    assert seen["authorizer"]["principalId"] == "user-allow-tenant-a"
    assert seen["stage"] == "test"


def test_a_cached_policy_serves_other_routes_and_is_keyed_by_the_identity(cloud: Any, front: Any) -> None:
    headers = {"Authorization": "Bearer allow-cache-check"}
    before = _authorizer_calls(cloud, front)
    assert requests.get(_url(front, "/v1/things/1"), headers=headers, timeout=10).status_code == 200
    assert requests.get(_url(front, "/v1/things/mine"), headers=headers, timeout=10).status_code == 200
    assert _authorizer_calls(cloud, front) == before + 1
    other = requests.get(_url(front, "/v1/things/1"), headers={"Authorization": "Bearer allow-someone-else"},
                         timeout=10)
    assert other.json()["authorizer"]["tenant_id"] == "someone-else"
    assert _authorizer_calls(cloud, front) == before + 2


def test_a_literal_route_wins_over_a_path_parameter(front: Any) -> None:
    answer = requests.get(_url(front, "/v1/things/mine"), headers={"Authorization": "Bearer allow-t"}, timeout=10)
    assert answer.json()["resource"] == "/v1/things/mine"


def test_a_binary_media_type_arrives_base64_encoded(front: Any) -> None:
    payload = bytes(range(256)) * 4
    answer = requests.put(_url(front, "/v1/things/7/blob"), data=payload, timeout=10,
                          headers={"Authorization": "Bearer allow-t", "Content-Type": "application/octet-stream"})
    seen = answer.json()
    assert seen["isBase64Encoded"] is True
    assert seen["body"] == {"base64_bytes": 1024}


def test_a_greedy_proxy_route_takes_any_method_and_nested_path(front: Any) -> None:
    answer = requests.post(_url(front, "/v1/files/a/b/c.txt"), data="hello", timeout=10)
    seen = answer.json()
    assert seen["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert seen["httpMethod"] == "POST"
    assert seen["body"] == "hello"
    assert seen["authorizer"] is None
    assert answer.headers.get("X-Multi") == "a, b"


def test_a_malformed_function_answer_is_a_502(front: Any) -> None:
    answer = requests.get(_url(front, "/v1/files/broken-response"), timeout=10)
    assert answer.status_code == 502


def test_an_eventbridge_rule_with_a_lambda_target_invokes_the_function(cloud: Any, front: Any) -> None:
    name = front.stack.function_by_logical_id("PingFunction").name
    before = cloud.runtime.invocations.get(name, 0)
    cloud.client("events").put_events(Entries=[{"Source": "test.frontstack", "DetailType": "ping",
                                                "Detail": json.dumps({"n": 1})}])
    wait_for(lambda: cloud.runtime.invocations.get(name, 0) == before + 1, message="the rule target")
    assert cloud.runtime.module(name).received[-1] == {"n": 1}
