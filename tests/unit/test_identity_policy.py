"""The IAM policy a REQUEST authorizer returns to API Gateway."""

from __future__ import annotations

import pytest

from wrapper.identity.policy import api_wildcard, authorizer_response

METHOD_ARN = "arn:aws:execute-api:us-east-1:123:abc/dev/GET/v1/x"


def test_the_wildcard_covers_every_method_and_path_of_the_stage() -> None:
    # Given / When the method ARN of one call is widened
    # Then it names every method and path of the same API and stage
    assert api_wildcard(METHOD_ARN) == "arn:aws:execute-api:us-east-1:123:abc/dev/*/*"


@pytest.mark.parametrize("method_arn", [
    "arn:aws:execute-api:us-east-1:123:abc/dev/POST/v1/tenants/t-1/members/u-2",
    "arn:aws:execute-api:us-east-1:123:abc/dev/DELETE/",
    "arn:aws:execute-api:us-east-1:123:abc/dev/GET/v1/x",
])
def test_the_wildcard_is_the_same_whatever_call_came_first(method_arn: str) -> None:
    # Given / When calls of different methods and depths are widened
    # Then they all give the one stage-wide resource (the policy API Gateway caches)
    assert api_wildcard(method_arn) == "arn:aws:execute-api:us-east-1:123:abc/dev/*/*"


def test_an_allow_answer_has_the_shape_api_gateway_expects() -> None:
    # Given / When an identity is allowed
    answer = authorizer_response("user-1", allow=True, method_arn=METHOD_ARN, context={"tenant_id": "acme"})

    # Then the answer is a principal, a one-statement Allow policy on the stage, and the context
    assert answer == {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:us-east-1:123:abc/dev/*/*",
            }],
        },
        "context": {"tenant_id": "acme"},
    }


def test_a_deny_answer_denies_the_whole_stage() -> None:
    # Given / When an identity is denied
    answer = authorizer_response("anonymous", allow=False, method_arn=METHOD_ARN)

    # Then its one statement is a Deny on the stage
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123:abc/dev/*/*"


def test_an_answer_without_context_carries_an_empty_context() -> None:
    # Given / When an answer is built without context
    answer = authorizer_response("user-1", allow=True, method_arn=METHOD_ARN)

    # Then its context is an empty object, not missing
    assert answer["context"] == {}
