"""build_app: the one place HTTP meets the domain, driven with API Gateway REST proxy events."""

from __future__ import annotations

import io
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel, ConfigDict

from tests.unit.builders import REQUEST_ID, api_event, lambda_context, response_headers
from wrapper.api.app import build_app
from wrapper.kernel.errors import Conflict, LimitExceeded, NotFound

SECRET = "password=hunter2 at /var/task/wrapper/secret.py"


class Widget(BaseModel):
    id: str
    name: str


class NewWidget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    quantity: int


@dataclass
class Api:
    app: APIGatewayRestResolver
    log: io.StringIO
    logger: Logger

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.app.resolve(api_event(method, path, **kwargs), lambda_context())
        return response

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines() if line.strip()]


@pytest.fixture
def api() -> Api:
    """A resolver built by build_app, with a few routes of our own, logging into a buffer."""
    buffer = io.StringIO()
    # A service name of its own: Powertools configures one logging.Logger per service only once.
    logger = Logger(service=f"t-{uuid.uuid4().hex}", logger_handler=logging.StreamHandler(buffer))
    app = build_app(logger)

    @app.get("/v1/widgets/<widget_id>")
    def get_widget(widget_id: str) -> Widget:
        logger.info("widget read")
        return Widget(id=widget_id, name="sprocket")

    @app.post("/v1/widgets")
    def create_widget(body: NewWidget) -> Widget:
        return Widget(id="w-1", name=body.name)

    @app.get("/v1/errors/not-found")
    def not_found() -> Widget:
        raise NotFound("No widget w-9.")

    @app.get("/v1/errors/conflict")
    def conflict() -> Widget:
        raise Conflict("Widget w-1 already exists.")

    @app.get("/v1/errors/rate-limited")
    def rate_limited() -> Widget:
        raise LimitExceeded("Too many widgets.", retry_after_seconds=30)

    @app.get("/v1/errors/boom")
    def boom() -> Widget:
        raise RuntimeError(SECRET)

    @app.get("/v1/errors/broken-response")
    def broken_response() -> Widget:
        return {"unexpected": SECRET}  # type: ignore[return-value]

    return Api(app, buffer, logger)


def problem_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response_headers(response)["content-type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response["body"])
    assert body["status"] == response["statusCode"]
    return body


# ---------------------------------------------------------------- success


def test_a_route_returning_a_model_answers_200_with_its_json(api: Api) -> None:
    # Given / When a widget is read
    response = api.call("GET", "/v1/widgets/w-7")

    # Then the model comes back as JSON
    assert response["statusCode"] == 200
    assert response_headers(response)["content-type"] == "application/json"
    assert json.loads(response["body"]) == {"id": "w-7", "name": "sprocket"}


def test_a_valid_body_reaches_the_route_as_its_model(api: Api) -> None:
    # Given / When a widget is created with a valid body
    response = api.call("POST", "/v1/widgets", body={"name": "gear", "quantity": 2})

    # Then the route received the parsed model
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"id": "w-1", "name": "gear"}


# ---------------------------------------------------------------- request validation


def test_a_body_that_is_not_json_is_a_400_problem(api: Api) -> None:
    # Given / When a body that does not parse as JSON is sent
    response = api.call("POST", "/v1/widgets", body='{"name": "gear",')

    # Then the answer is a 400 problem saying so
    assert response["statusCode"] == 400
    assert problem_of(response)["type"] == "urn:wrapper:problem:malformed-json"


def test_a_missing_field_is_a_422_problem_naming_the_field(api: Api) -> None:
    # Given / When a body without "quantity" is sent
    response = api.call("POST", "/v1/widgets", body={"name": "gear"})

    # Then the answer is a 422 problem whose errors name "quantity"
    assert response["statusCode"] == 422
    problem = problem_of(response)
    assert problem["type"] == "urn:wrapper:problem:validation-error"
    assert [error["field"] for error in problem["errors"]] == ["quantity"]


def test_an_unknown_field_is_a_422_problem_naming_the_field(api: Api) -> None:
    # Given / When a body with a field the model does not declare is sent (mass assignment)
    response = api.call("POST", "/v1/widgets", body={"name": "gear", "quantity": 1, "owner": "admin"})

    # Then the answer is a 422 problem whose errors name "owner"
    assert response["statusCode"] == 422
    assert [error["field"] for error in problem_of(response)["errors"]] == ["owner"]


def test_a_field_of_the_wrong_type_is_a_422_problem_naming_the_field(api: Api) -> None:
    # Given / When "quantity" is not an integer
    response = api.call("POST", "/v1/widgets", body={"name": "gear", "quantity": "many"})

    # Then the answer is a 422 problem whose errors name "quantity" and say why
    assert response["statusCode"] == 422
    (error,) = problem_of(response)["errors"]
    assert error["field"] == "quantity"
    assert "integer" in error["message"]


def test_a_json_body_that_is_not_an_object_is_a_422_problem(api: Api) -> None:
    # Given / When the body is a JSON list
    response = api.call("POST", "/v1/widgets", body="[1, 2]")

    # Then the answer is a 422 problem about the body
    assert response["statusCode"] == 422
    assert [error["field"] for error in problem_of(response)["errors"]] == ["body"]


def test_a_body_of_an_unsupported_content_type_is_a_415_problem(api: Api) -> None:
    # Given / When a body is sent as text/plain
    response = api.call("POST", "/v1/widgets", body="gear", headers={"Content-Type": "text/plain"})

    # Then the caller is told the media type is not supported, not that the server broke
    assert response["statusCode"] == 415
    problem_of(response)


# ---------------------------------------------------------------- domain errors


@pytest.mark.parametrize(("path", "status", "type_slug", "detail"), [
    ("/v1/errors/not-found", 404, "not-found", "No widget w-9."),
    ("/v1/errors/conflict", 409, "conflict", "Widget w-1 already exists."),
    ("/v1/errors/rate-limited", 429, "rate-limited", "Too many widgets."),
])
def test_a_domain_error_is_answered_as_its_problem(api: Api, path: str, status: int, type_slug: str,
                                                   detail: str) -> None:
    # Given / When a route raises a domain error
    response = api.call("GET", path)

    # Then the answer is the error's status, as a problem carrying its detail
    assert response["statusCode"] == status
    problem = problem_of(response)
    assert problem["type"] == f"urn:wrapper:problem:{type_slug}"
    assert problem["detail"] == detail


def test_a_rate_limit_tells_the_caller_when_to_retry(api: Api) -> None:
    # Given / When a route raises LimitExceeded with a retry delay
    response = api.call("GET", "/v1/errors/rate-limited")

    # Then the 429 carries Retry-After in seconds
    assert response["statusCode"] == 429
    assert response_headers(response)["retry-after"] == "30"


# ---------------------------------------------------------------- unknown routes and our own bugs


def test_an_unknown_route_is_a_404_problem(api: Api) -> None:
    # Given / When a path no route serves is called
    response = api.call("GET", "/v1/nothing-here")

    # Then the answer is a 404 problem
    assert response["statusCode"] == 404
    assert problem_of(response)["type"] == "urn:wrapper:problem:not-found"


def test_an_unexpected_exception_is_a_500_problem_that_reveals_nothing(api: Api) -> None:
    # Given / When a route raises an exception that is not a domain error
    response = api.call("GET", "/v1/errors/boom")

    # Then the answer is a generic 500 problem without the exception's text, type or a stack trace
    assert response["statusCode"] == 500
    problem = problem_of(response)
    assert problem["type"] == "urn:wrapper:problem:internal"
    for leak in ("hunter2", "/var/task", "RuntimeError", "Traceback", 'File "'):
        assert leak not in response["body"]


def test_an_unexpected_exception_is_logged_with_its_trace(api: Api) -> None:
    # Given / When a route raises an exception that is not a domain error
    api.call("GET", "/v1/errors/boom")

    # Then the exception is in the log, where operators can see it
    (line,) = [entry for entry in api.log_lines() if entry["level"] == "ERROR"]
    assert "RuntimeError" in line["exception"]


def test_a_response_that_breaks_its_own_schema_is_a_500_problem(api: Api) -> None:
    # Given / When a route returns something that is not its declared model
    response = api.call("GET", "/v1/errors/broken-response")

    # Then the server owns the mistake: 500, not a 4xx, and nothing of the bad response leaks
    assert response["statusCode"] == 500
    assert problem_of(response)["type"] == "urn:wrapper:problem:internal"
    assert "hunter2" not in response["body"]


# ---------------------------------------------------------------- X-Request-Id

SUCCESS = ("GET", "/v1/widgets/w-1", None)
ERRORS = [
    ("GET", "/v1/errors/not-found", None),
    ("GET", "/v1/errors/rate-limited", None),
    ("GET", "/v1/errors/boom", None),
    ("GET", "/v1/nothing-here", None),
    ("POST", "/v1/widgets", {"name": "gear"}),
    ("POST", "/v1/widgets", "{not json"),
]
EVERY_KIND = [SUCCESS, *ERRORS]
KIND_IDS = ["200", "404-domain", "429", "500", "404-route", "422", "400"]


@pytest.mark.parametrize(("method", "path", "body"), EVERY_KIND, ids=KIND_IDS)
def test_a_safe_x_request_id_is_echoed(api: Api, method: str, path: str, body: Any) -> None:
    # Given / When the caller supplies a well-formed X-Request-Id
    response = api.call(method, path, body=body, headers={"X-Request-Id": "client-req_01:abc.9"})

    # Then the answer echoes it, whatever the outcome
    assert response_headers(response)["x-request-id"] == "client-req_01:abc.9"


@pytest.mark.parametrize(("method", "path", "body"), EVERY_KIND, ids=KIND_IDS)
def test_without_x_request_id_the_gateway_request_id_is_used(api: Api, method: str, path: str, body: Any) -> None:
    # Given / When the caller supplies no X-Request-Id
    response = api.call(method, path, body=body)

    # Then the answer carries API Gateway's request id, whatever the outcome
    assert response_headers(response)["x-request-id"] == REQUEST_ID


@pytest.mark.parametrize("offered", ["has spaces in it", "x" * 200, "<script>", "a\r\nSet-Cookie: s=1", ""],
                         ids=["spaces", "200-chars", "markup", "crlf", "empty"])
@pytest.mark.parametrize(("method", "path", "body"), [SUCCESS, ERRORS[0], ERRORS[2]], ids=["200", "404", "500"])
def test_an_unsafe_x_request_id_is_replaced_by_the_gateway_request_id(api: Api, method: str, path: str, body: Any,
                                                                      offered: str) -> None:
    # Given / When the caller supplies an X-Request-Id of an unsafe shape
    response = api.call(method, path, body=body, headers={"X-Request-Id": offered})

    # Then the answer carries API Gateway's request id instead
    assert response_headers(response)["x-request-id"] == REQUEST_ID


def test_an_x_request_id_of_128_characters_is_still_taken(api: Api) -> None:
    # Given / When the caller supplies an id at the length limit
    response = api.call("GET", "/v1/widgets/w-1", headers={"X-Request-Id": "r" * 128})

    # Then it is echoed
    assert response_headers(response)["x-request-id"] == "r" * 128


def test_a_lower_case_x_request_id_header_is_honoured(api: Api) -> None:
    # Given / When the header arrives lower-cased, as HTTP/2 clients send every header
    response = api.call("GET", "/v1/widgets/w-1", headers={"x-request-id": "h2-request"})

    # Then it is still echoed
    assert response_headers(response)["x-request-id"] == "h2-request"


def test_an_x_request_id_with_a_trailing_newline_is_replaced(api: Api) -> None:
    # Given / When the caller supplies an id followed by a newline
    response = api.call("GET", "/v1/widgets/w-1", headers={"X-Request-Id": "abc\n"})

    # Then it is not echoed (a newline in a header value splits the header)
    assert response_headers(response)["x-request-id"] == REQUEST_ID


def test_the_request_id_is_the_logs_correlation_id(api: Api) -> None:
    # Given / When a request with an X-Request-Id logs something
    api.call("GET", "/v1/widgets/w-1", headers={"X-Request-Id": "trace-me"})

    # Then the log line carries it as the correlation id
    (line,) = [entry for entry in api.log_lines() if entry["message"] == "widget read"]
    assert line["correlation_id"] == "trace-me"


# ---------------------------------------------------------------- tenant on the logger


def test_a_request_without_a_tenant_does_not_log_the_previous_requests_tenant(api: Api) -> None:
    # Given a request of tenant acme has been served by this warm function (the tenant middleware
    # of tenant-serving functions labels the logger)
    api.logger.append_keys(tenant_id="acme")
    api.call("GET", "/v1/widgets/w-1")
    assert [e for e in api.log_lines() if e["message"] == "widget read"][-1].get("tenant_id") is None

    # When a request without a tenant (no authorizer: sign-up, login, health) logs something
    api.call("GET", "/v1/widgets/w-2")

    # Then its log line names no tenant
    lines = [entry for entry in api.log_lines() if entry["message"] == "widget read"]
    assert "tenant_id" not in lines[-1]
