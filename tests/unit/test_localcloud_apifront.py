"""The local API front's pure parts: route matching, authorizer policies, gateway response templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.apifront import RestApi, _policy_allows, _render
from localcloud.provision import Created, Stack
from tests.unit.apifront_world import PATHS, operation, rest_api
from wrapper.identity.policy import authorizer_response

STAGE_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev"


@pytest.fixture(params=["declared", "reversed"])
def api(request: pytest.FixtureRequest) -> RestApi:
    """The same API with its paths declared in either order: precedence must not depend on it."""
    items = list(PATHS.items())
    return rest_api(dict(items if request.param == "declared" else reversed(items)))


def function_of(api: RestApi, method: str, path: str) -> str | None:
    route, _, _ = api.match(method, path)
    return route.function_arn.rsplit(":", 1)[1] if route and route.function_arn else None


# ---------------------------------------------------------------- route matching


def test_a_literal_segment_beats_a_path_parameter(api: RestApi) -> None:
    # Given /v1/tenants/me and /v1/tenants/{tenant_id}
    # When GET /v1/tenants/me arrives
    # Then the literal route serves it
    assert function_of(api, "GET", "/v1/tenants/me") == "me"


def test_a_path_parameter_captures_its_segment(api: RestApi) -> None:
    # Given / When GET /v1/tenants/t-42 arrives
    route, params, _ = api.match("GET", "/v1/tenants/t-42")

    # Then the parameter route serves it with tenant_id = t-42
    assert route is not None and route.path == "/v1/tenants/{tenant_id}"
    assert params == {"tenant_id": "t-42"}


def test_a_path_parameter_does_not_span_segments(api: RestApi) -> None:
    # Given / When a deeper path than any declared arrives
    # Then {tenant_id} does not swallow the extra segment: the greedy route does
    assert function_of(api, "GET", "/v1/tenants/t-42/secrets") == "catch_all"


def test_a_more_specific_route_beats_the_greedy_one(api: RestApi) -> None:
    # Given /v1/tenants/{tenant_id}/members and /v1/{proxy+}
    # When GET /v1/tenants/t-42/members arrives
    # Then the specific route serves it
    assert function_of(api, "GET", "/v1/tenants/t-42/members") == "members"


def test_a_greedy_parameter_catches_what_nothing_else_matches(api: RestApi) -> None:
    # Given / When a path no specific route declares arrives
    route, params, _ = api.match("DELETE", "/v1/unknown/deep/path")

    # Then the greedy ANY route serves it, with the whole rest of the path as its parameter
    assert route is not None and route.path == "/v1/{proxy+}"
    assert params == {"proxy": "unknown/deep/path"}


def test_a_plain_parameter_is_tried_before_a_greedy_one_with_as_many_literals(api: RestApi) -> None:
    # Given GET /v1/files/{file_id} and GET /v1/files/{any+}, both with two literal segments
    # When GET /v1/files/f-1 arrives
    # Then the plain parameter serves it
    assert function_of(api, "GET", "/v1/files/f-1") == "file"


def test_a_greedy_parameter_takes_several_segments(api: RestApi) -> None:
    # Given GET /v1/files/{file_id} and GET /v1/files/{any+}
    # When GET /v1/files/2024/05/report.pdf arrives
    route, params, _ = api.match("GET", "/v1/files/2024/05/report.pdf")

    # Then the greedy route serves it, with the segments as one parameter
    assert route is not None and route.path == "/v1/files/{any+}"
    assert params == {"any": "2024/05/report.pdf"}


def test_an_any_method_route_serves_every_method() -> None:
    # Given only a greedy ANY route
    api = rest_api({"/{proxy+}": {"x-amazon-apigateway-any-method": operation("catch_all")}})

    # When requests of several methods arrive
    # Then the ANY route serves each
    assert {function_of(api, method, "/a/b") for method in ("GET", "POST", "PUT", "DELETE")} == {"catch_all"}


def test_a_known_path_with_an_unknown_method_matches_nothing_but_says_what_is_allowed() -> None:
    # Given a path declared for GET and PATCH only, and no greedy route
    api = rest_api({"/v1/tenants/{tenant_id}": {"get": operation("tenant"), "patch": operation("tenant")}})

    # When DELETE arrives on it
    route, params, allowed = api.match("DELETE", "/v1/tenants/t-1")

    # Then no route serves it, and the methods the path does allow are listed
    assert route is None
    assert params == {}
    assert allowed == ["GET", "PATCH"]


def test_an_unknown_path_matches_nothing_and_allows_nothing() -> None:
    # Given an API without a greedy route
    api = rest_api({"/v1/health": {"get": operation("health")}})

    # When a path it does not declare arrives
    # Then nothing matches and no method is allowed
    assert api.match("GET", "/v1/nope") == (None, {}, [])


# ---------------------------------------------------------------- authorizer policies


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def statement(effect: str, resource: str | list[str], action: str | list[str] = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


def test_an_allow_on_the_stage_wildcard_allows_any_method_and_path() -> None:
    # Given a policy allowing <api>/dev/*/*
    document = policy(statement("Allow", f"{STAGE_ARN}/*/*"))

    # When a deep path is called
    # Then it is allowed
    assert _policy_allows(document, f"{STAGE_ARN}/POST/v1/tenants/t-1/members")


def test_an_explicit_deny_wins_over_an_allow() -> None:
    # Given a policy that allows the stage but denies DELETE, the Allow listed first
    document = policy(statement("Allow", f"{STAGE_ARN}/*/*"), statement("Deny", f"{STAGE_ARN}/DELETE/*"))

    # When DELETE is called
    # Then it is denied, while GET is still allowed
    assert not _policy_allows(document, f"{STAGE_ARN}/DELETE/v1/tenants/t-1")
    assert _policy_allows(document, f"{STAGE_ARN}/GET/v1/tenants/t-1")


def test_no_matching_statement_means_not_allowed() -> None:
    # Given a policy allowing another stage only
    document = policy(statement("Allow", "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*"))

    # When the dev stage is called
    # Then it is not allowed (implicit deny)
    assert not _policy_allows(document, f"{STAGE_ARN}/GET/v1/health")


def test_an_empty_policy_allows_nothing() -> None:
    # Given / When a policy has no statements / Then nothing is allowed
    assert not _policy_allows(policy(), f"{STAGE_ARN}/GET/v1/health")


def test_an_allow_for_another_action_does_not_allow_invoking() -> None:
    # Given a policy allowing a different action on everything
    document = policy(statement("Allow", "*", action="execute-api:ManageConnections"))

    # When a route is called
    # Then it is not allowed
    assert not _policy_allows(document, f"{STAGE_ARN}/GET/v1/health")


def test_action_and_resource_lists_and_wildcards_are_understood() -> None:
    # Given an Allow whose action is a wildcard list and whose resource is a list
    document = policy(statement("Allow", ["arn:aws:s3:::nothing", f"{STAGE_ARN}/GET/*"], action=["execute-api:*"]))

    # When a GET is called
    # Then it is allowed
    assert _policy_allows(document, f"{STAGE_ARN}/GET/v1/health")


def test_a_single_statement_object_is_read_like_a_list_of_one() -> None:
    # Given a policy whose Statement is one object, not a list
    document = {"Version": "2012-10-17", "Statement": statement("Allow", f"{STAGE_ARN}/*/*")}

    # When a route is called
    # Then it is allowed
    assert _policy_allows(document, f"{STAGE_ARN}/GET/v1/health")


def test_our_authorizers_allow_answer_covers_every_route_of_the_stage() -> None:
    # Given the policy our authorizer returns for the first call it saw (GET /v1/health)
    document = authorizer_response("u-1", allow=True, method_arn=f"{STAGE_ARN}/GET/v1/health")["policyDocument"]

    # When another method and path is called with the cached policy
    # Then it is allowed too (API Gateway caches one policy per identity for every route)
    assert _policy_allows(document, f"{STAGE_ARN}/DELETE/v1/tenants/t-1/members/u-2")


def test_our_authorizers_deny_answer_denies_every_route_of_the_stage() -> None:
    # Given the policy our authorizer returns when it refuses
    document = authorizer_response("anonymous", allow=False, method_arn=f"{STAGE_ARN}/GET/v1/x")["policyDocument"]

    # When any route is called
    # Then it is denied
    assert not _policy_allows(document, f"{STAGE_ARN}/GET/v1/x")


# ---------------------------------------------------------------- gateway response templates

VARIABLES = {
    "$context.requestId": "req-1",
    "$context.error.message": "Unauthorized",
    "$context.error.messageString": json.dumps("Unauthorized"),
    "$context.error.responseType": "UNAUTHORIZED",
}


def test_a_template_gets_context_variables_filled() -> None:
    # Given a problem+json template using request id, message string and response type
    template = ('{"type":"urn:wrapper:problem:$context.error.responseType","detail":$context.error.messageString,'
                '"request_id":"$context.requestId"}')

    # When it is rendered
    body = json.loads(_render(template, VARIABLES, {}))

    # Then each variable is replaced, the message string keeping its JSON quotes
    assert body == {"type": "urn:wrapper:problem:UNAUTHORIZED", "detail": "Unauthorized", "request_id": "req-1"}


def test_a_longer_variable_is_not_cut_at_a_shorter_ones_name() -> None:
    # Given a template with $context.error.messageString (which begins with $context.error.message)
    # When it is rendered
    # Then the longer variable is replaced as a whole
    assert _render("$context.error.messageString", VARIABLES, {}) == '"Unauthorized"'


def test_a_template_gets_authorizer_context_filled() -> None:
    # Given / When a template names $context.authorizer.tenant_id
    # Then it is the authorizer context's value
    assert _render("tenant=$context.authorizer.tenant_id", VARIABLES, {"tenant_id": "acme"}) == "tenant=acme"


def test_an_unknown_variable_renders_as_empty_text() -> None:
    # Given / When a template names variables nobody set
    rendered = _render("[$context.nothing.here][$context.authorizer.missing]", VARIABLES, {})

    # Then they render empty, as API Gateway's templates do
    assert rendered == "[][]"


def test_text_around_variables_is_kept_as_it_is() -> None:
    # Given / When a template has a variable followed by a full stop and other dollar text
    rendered = _render("Request $context.requestId. Cost: $5", VARIABLES, {})

    # Then only the variable is replaced
    assert rendered == "Request req-1. Cost: $5"


# ---------------------------------------------------------------- binary answers


@pytest.mark.parametrize(("accept", "binary"), [
    ("application/pdf", True), ("application/pdf;q=0.9, */*", True), ("image/png", True),
    ("*/*", False), (None, False), ("", False), ("application/json, application/pdf", False),
    ("text/html,application/xhtml+xml,application/pdf", False)])
def test_a_base64_body_is_answered_as_bytes_only_when_the_first_accept_type_is_binary(
        accept: str | None, binary: bool) -> None:
    # Given an API whose binary media types are a PDF and any image, spelled as the template spells them
    resources = {"Api": Created("Api", "AWS::ApiGateway::RestApi", ref="abc123", properties={"Body": {
        "swagger": "2.0", "paths": {}, "x-amazon-apigateway-binary-media-types": ["application~1pdf", "image~1*"]}})}
    api = RestApi(Stack(name="wrapper", region="us-east-1", translated=None, resources=resources))  # type: ignore[arg-type]

    # When a request's Accept header is read
    # Then its first type alone decides it, as API Gateway does
    assert api.answers_binary(accept) is binary
