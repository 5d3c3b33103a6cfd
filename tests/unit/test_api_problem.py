"""RFC 9457 problem details."""

from __future__ import annotations

import json

import pytest

from wrapper.api.problem import problem_body, problem_response


def test_a_problem_names_its_type_title_status_and_detail() -> None:
    # Given / When a problem is built
    body = problem_body(404, "Not Found", "No tenant t-1.", type_slug="not-found")

    # Then it has exactly the four RFC 9457 members, the type a URN of ours
    assert body == {
        "type": "urn:wrapper:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "No tenant t-1.",
    }


@pytest.mark.parametrize("errors", [None, []])
def test_a_problem_without_field_errors_has_no_errors_member(errors: list[dict[str, str]] | None) -> None:
    # Given / When a problem is built without field errors
    body = problem_body(400, "Bad Request", "No.", type_slug="bad-request", errors=errors)

    # Then it has no "errors" member
    assert "errors" not in body


def test_a_problem_with_field_errors_lists_them() -> None:
    # Given field errors
    errors = [{"field": "email", "message": "not an email"}]

    # When a problem is built with them
    body = problem_body(422, "Unprocessable Content", "Invalid.", type_slug="validation-error", errors=errors)

    # Then they are listed under "errors"
    assert body["errors"] == errors


def test_a_problem_names_its_instance_when_given() -> None:
    # Given / When a problem is built for one occurrence
    body = problem_body(409, "Conflict", "Taken.", type_slug="conflict", instance="/v1/tenants/t-1")

    # Then it names that instance
    assert body["instance"] == "/v1/tenants/t-1"


def test_a_problem_response_is_served_as_application_problem_json() -> None:
    # Given / When a problem response is built
    response = problem_response(409, "Conflict", "Already a member.", type_slug="conflict")

    # Then it has the problem's status, the problem+json content type and the problem as its body
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert isinstance(response.body, str)
    assert json.loads(response.body) == problem_body(409, "Conflict", "Already a member.", type_slug="conflict")


def test_a_problem_response_carries_the_headers_it_is_given() -> None:
    # Given / When a problem response is built with a Retry-After header
    response = problem_response(429, "Too Many Requests", "Slow down.", type_slug="rate-limited",
                                headers={"Retry-After": "30"})

    # Then the header is on the response
    assert response.headers["Retry-After"] == "30"
