"""Serve a template's REST API over HTTP, the way API Gateway would.

Routes, authorizers, binary media types, CORS preflights and gateway responses all come from
the translated template (the swagger document SAM generates for API Gateway). Requests become
REST API proxy events (payload format 1.0); responses are read back from the function's answer.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localcloud.provision import ACCOUNT_ID, Stack
from localcloud.runtime import FunctionRuntime
from wrapper.kernel import clock

log = logging.getLogger("localcloud.api")
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_FUNCTION_IN_URI = re.compile(r"functions/(arn:aws:lambda:[^/]+)/invocations")

# What API Gateway answers when the API declares no gateway response of its own.
_DEFAULT_RESPONSES: dict[str, tuple[int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "INTEGRATION_FAILURE": (502, "Internal server error"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
}


@dataclass
class Route:
    path: str
    method: str  # upper case, or ANY
    function_arn: str | None
    authorizer: str | None
    mock_headers: dict[str, str] = field(default_factory=dict)
    pattern: re.Pattern[str] = field(init=False)
    literal_segments: int = field(init=False)

    def __post_init__(self) -> None:
        regex = ""
        for segment in self.path.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("+}"):
                regex += f"/(?P<{segment[1:-2]}>.+)"
            elif segment.startswith("{"):
                regex += f"/(?P<{segment[1:-1]}>[^/]+)"
            elif segment:
                regex += "/" + re.escape(segment)
        self.pattern = re.compile("^" + (regex or "/") + "/?$")
        self.literal_segments = sum(1 for s in self.path.split("/") if s and not s.startswith("{"))


@dataclass
class Authorizer:
    name: str
    function_arn: str
    identity_sources: list[str]
    ttl: int


@dataclass
class GatewayResponse:
    status: int | None
    headers: dict[str, str]
    templates: dict[str, str]


class RestApi:
    """One AWS::ApiGateway::RestApi of a stack, as the front needs it."""

    def __init__(self, stack: Stack, logical_id: str = "Api") -> None:
        api = stack.resources[logical_id]
        body = api.properties["Body"]
        self.api_id = api.ref
        self.stage = next((r.properties["StageName"] for r in stack.of_type("AWS::ApiGateway::Stage")
                           if r.properties["RestApiId"] == self.api_id), "local")
        self.region = stack.region
        self.binary_types = body.get("x-amazon-apigateway-binary-media-types", [])
        self.authorizers: dict[str, Authorizer] = {}
        for name, definition in body.get("securityDefinitions", {}).items():
            config = definition.get("x-amazon-apigateway-authorizer")
            if not config:
                continue
            if config.get("type") != "request":
                raise ValueError(f"authorizer {name}: the local front runs REQUEST authorizers only")
            sources = [s.strip() for s in config.get("identitySource", "").split(",") if s.strip()]
            self.authorizers[name] = Authorizer(name, _function_arn(config["authorizerUri"]), sources,
                                                int(config.get("authorizerResultTtlInSeconds", 300)))
        self.routes: list[Route] = []
        for path, methods in body.get("paths", {}).items():
            for method, operation in methods.items():
                integration = operation.get("x-amazon-apigateway-integration", {})
                security = operation.get("security") or body.get("security") or []
                names = [n for entry in security for n in entry if n in self.authorizers]
                if integration.get("type") == "mock":
                    headers = {k.removeprefix("method.response.header."): v.strip("'") for k, v in
                               integration.get("responses", {}).get("default", {}).get("responseParameters",
                                                                                        {}).items()}
                    self.routes.append(Route(path, method.upper(), None, None, headers))
                    continue
                if integration.get("type") != "aws_proxy":
                    raise ValueError(f"{method} {path}: the local front runs Lambda proxy integrations only")
                self.routes.append(Route(path, method.upper().replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"),
                                         _function_arn(integration["uri"]), names[0] if names else None))
        self.routes.sort(key=lambda r: (-r.literal_segments, "+}" in r.path, r.path))
        self.gateway_responses: dict[str, GatewayResponse] = {}
        for resource in stack.of_type("AWS::ApiGateway::GatewayResponse"):
            p = resource.properties
            if p["RestApiId"] != self.api_id:
                continue
            headers = {k.removeprefix("gatewayresponse.header."): v
                       for k, v in p.get("ResponseParameters", {}).items()}
            self.gateway_responses[p["ResponseType"]] = GatewayResponse(
                int(p["StatusCode"]) if "StatusCode" in p else None, headers, p.get("ResponseTemplates", {}))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for a request, its path parameters, and the methods the path allows."""
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            allowed.append(route.method)
            if route.method in (method, "ANY"):
                return route, found.groupdict(), allowed
        return None, {}, sorted(set(allowed))

    def answers_binary(self, accept: str | None) -> bool:
        """Whether a function's base64 body goes to the client as bytes. API Gateway decides it by the
        request's first Accept type alone: bytes if that is one of the binary media types, else the base64."""
        first = (accept or "").split(",")[0].split(";")[0].strip().lower()
        return bool(first) and any(fnmatch.fnmatch(first, t.replace("~1", "/")) for t in self.binary_types)


def _function_arn(uri: str) -> str:
    found = _FUNCTION_IN_URI.search(uri)
    if not found:
        raise ValueError(f"not a Lambda integration: {uri}")
    return found.group(1)


# A local-only page under /_local/ (no such path exists on AWS): a handler per HTTP method, given the
# request body and answering a JSON document (200), or raising LocalRefusal.
LocalPage = Mapping[str, Callable[[bytes], Any]]


class LocalRefusal(Exception):
    """A local page refuses a request; the front answers it as problem+json."""

    def __init__(self, status: int, title: str, detail: str, *, type_slug: str,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type_slug, self.errors = status, title, detail, type_slug, errors


class ApiFront:
    def __init__(self, api: RestApi, runtime: FunctionRuntime, *, host: str, port: int,
                 local_pages: Mapping[str, LocalPage] | None = None) -> None:
        self.api = api
        self.runtime = runtime
        self.host = host
        self.port = port
        # Local-only pages under /_local/ (captured emails, the clock): no such path exists on AWS.
        self.local_pages = local_pages or {}
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._server = make_server(self.host, self.port, self.wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-front", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ request handling
    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = time.perf_counter()
        response = self.handle(request)
        log.info("%s %s -> %s (%.1f ms)", request.method, request.full_path.rstrip("?"), response.status_code,
                 (time.perf_counter() - started) * 1000)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        context = {"requestId": request_id, "httpMethod": request.method, "path": request.path}
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", context)
        page = self.local_pages.get(request.path)
        if page is not None:
            return self.local_page(page, request, request_id)
        route, path_params, allowed = self.api.match(request.method, request.path)
        if route is None:
            if allowed:
                # API Gateway answers a known path with an unknown method like an unknown route;
                # locally we say what is true, 405 with Allow, which clients handle better.
                return self._problem(405, "Method Not Allowed",
                                     f"{request.method} is not allowed on {request.path}.", request_id,
                                     {"Allow": ", ".join(allowed)})
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", context)
        if route.function_arn is None:  # CORS preflight, a mock integration
            return Response(b"{}", status=200, headers={**route.mock_headers, "Content-Type": "application/json"})
        body = request.get_data(cache=True)
        if len(body) > MAX_BODY_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", context)
        event = self.proxy_event(request, route, path_params, body, request_id)
        if route.authorizer:
            refused = self.authorize(self.api.authorizers[route.authorizer], event, context)
            if refused is not None:
                return refused
        result = self.runtime.invoke(route.function_arn, event)
        if result.failed:
            log.error("function %s failed: %s", route.function_arn, result.error)
            return self.gateway_response("INTEGRATION_FAILURE", context)
        return self.proxy_response(result.payload, context,
                                   binary=self.api.answers_binary(request.headers.get("Accept")))

    def proxy_event(self, request: Request, route: Route, path_params: dict[str, str], body: bytes,
                    request_id: str) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = {k: v[-1] for k, v in request.args.lists()}
        multi_query = {k: list(v) for k, v in request.args.lists()}
        content_type = (request.mimetype or "").lower()
        binary = any(fnmatch.fnmatch(content_type, t.replace("~1", "/")) for t in self.api.binary_types)
        now = clock.now()  # API Gateway's time moves with the local clock
        source_ip = request.remote_addr or "127.0.0.1"
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local", "resourcePath": route.path, "httpMethod": request.method,
                "extendedRequestId": request_id, "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{self.api.stage}{request.path}", "accountId": ACCOUNT_ID, "protocol": "HTTP/1.1",
                "stage": self.api.stage, "domainPrefix": self.host, "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id, "domainName": f"{self.host}:{self.port}", "apiId": self.api.api_id,
                "identity": {"sourceIp": source_ip, "userAgent": request.headers.get("User-Agent"),
                             "accountId": None, "apiKey": None, "caller": None, "user": None, "userArn": None,
                             "cognitoIdentityPoolId": None, "cognitoIdentityId": None,
                             "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None},
            },
            "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8", errors="replace"))
            if body else None,
            "isBase64Encoded": bool(body) and binary,
        }

    def method_arn(self, method: str, path: str) -> str:
        return (f"arn:aws:execute-api:{self.api.region}:{ACCOUNT_ID}:{self.api.api_id}/{self.api.stage}/"
                f"{method}{path}")

    def authorize(self, authorizer: Authorizer, event: dict[str, Any], context: dict[str, Any]) -> Response | None:
        identity: list[str] = []
        for source in authorizer.identity_sources:
            value = _identity_value(source, event)
            # API Gateway requires the identity sources only when it caches by them.
            if not value and authorizer.ttl > 0:
                return self.gateway_response("UNAUTHORIZED", context)
            identity.append(value or "")
        method_arn = self.method_arn(event["httpMethod"], event["path"])
        key = (authorizer.name, tuple(identity))
        cached = self._cache.get(key)
        if cached and authorizer.ttl > 0 and cached[0] > time.monotonic():
            policy = cached[1]
        else:
            auth_event = {"type": "REQUEST", "methodArn": method_arn, **{k: event[k] for k in (
                "resource", "path", "httpMethod", "headers", "multiValueHeaders", "requestContext")}}
            # Unlike the proxy event, the authorizer event carries empty maps, never null.
            for field_name in ("queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
                               "stageVariables"):
                auth_event[field_name] = event[field_name] or {}
            result = self.runtime.invoke(authorizer.function_arn, auth_event)
            if result.failed:
                if (result.error or {}).get("errorMessage") == "Unauthorized":
                    return self.gateway_response("UNAUTHORIZED", context)
                log.error("authorizer %s failed: %s", authorizer.name, result.error)
                return self.gateway_response("AUTHORIZER_FAILURE", context)
            policy = result.payload
            if not isinstance(policy, dict) or "policyDocument" not in policy or "principalId" not in policy:
                return self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", context)
            if authorizer.ttl > 0:
                self._cache[key] = (time.monotonic() + authorizer.ttl, policy)
        raw_context = policy.get("context") or {}
        if any(isinstance(v, dict | list) for v in raw_context.values()):
            return self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", context)  # as API Gateway does
        # REST API Gateway passes context values to the integration as strings.
        authorizer_context = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw_context.items()}
        context["authorizer"] = authorizer_context
        if not _policy_allows(policy["policyDocument"], method_arn):
            return self.gateway_response("ACCESS_DENIED", context)
        event["requestContext"]["authorizer"] = {**authorizer_context, "principalId": policy["principalId"]}
        return None

    def proxy_response(self, payload: Any, context: dict[str, Any], *, binary: bool = True) -> Response:
        if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
            log.error("malformed Lambda proxy response: %r", payload)
            return self.gateway_response("INTEGRATION_FAILURE", context)
        raw = payload.get("body") or ""
        body = base64.b64decode(raw) if payload.get("isBase64Encoded") and binary else str(raw).encode()
        response = Response(body, status=payload["statusCode"])
        response.headers.remove("Content-Type")
        for name, value in (payload.get("headers") or {}).items():
            response.headers[name] = str(value)
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            if name in (payload.get("headers") or {}):
                response.headers.remove(name)
            for value in values:
                response.headers.add(name, str(value))
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response

    def local_page(self, page: LocalPage, request: Request, request_id: str) -> Response:
        handler = page.get(request.method)
        if handler is None:
            return self._problem(405, "Method Not Allowed", f"{request.method} is not allowed on {request.path}.",
                                 request_id, {"Allow": ", ".join(page)})
        try:
            document = handler(request.get_data(cache=True))
        except LocalRefusal as refused:
            return self._problem(refused.status, refused.title, refused.detail, request_id, {},
                                 type_slug=refused.type_slug, errors=refused.errors)
        return Response(json.dumps(document), status=200, headers={"Content-Type": "application/json"})

    # ------------------------------------------------------------------ API Gateway's own answers
    def gateway_response(self, response_type: str, context: dict[str, Any]) -> Response:
        default_status, message = _DEFAULT_RESPONSES.get(response_type, (400, "Bad Request"))
        family = "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"
        exact = self.api.gateway_responses.get(response_type)
        declared = exact or self.api.gateway_responses.get(family)
        status = exact.status if exact and exact.status else default_status
        variables = {
            "$context.requestId": context["requestId"], "$context.httpMethod": context["httpMethod"],
            "$context.path": context["path"], "$context.error.message": message,
            "$context.error.messageString": json.dumps(message), "$context.error.responseType": response_type,
        }
        if declared is None:
            return Response(json.dumps({"message": message}), status=status,
                            headers={"Content-Type": "application/json", "x-amzn-ErrorType": response_type,
                                     "X-Request-Id": context["requestId"]})
        template = declared.templates.get("application/json", json.dumps({"message": message}))
        body = _render(template, variables, context.get("authorizer", {}))
        response = Response(body, status=status, headers={"x-amzn-ErrorType": response_type})
        response.headers.remove("Content-Type")
        for name, value in declared.headers.items():
            if value.startswith("'"):
                response.headers[name] = value.strip("'")
            elif value.startswith("context."):
                response.headers[name] = str(variables.get("$" + value, ""))
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response

    def _problem(self, status: int, title: str, detail: str, request_id: str, headers: dict[str, str], *,
                 type_slug: str | None = None, errors: list[dict[str, str]] | None = None) -> Response:
        body: dict[str, Any] = {"type": f"urn:wrapper:problem:{type_slug or title.lower().replace(' ', '-')}",
                                "title": title, "status": status, "detail": detail}
        if errors:
            body["errors"] = errors
        return Response(json.dumps(body), status=status, headers={
            "Content-Type": "application/problem+json", "X-Request-Id": request_id, **headers})


def _render(template: str, variables: dict[str, str], authorizer: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(0)
        if name.startswith("$context.authorizer."):
            return str(authorizer.get(name.removeprefix("$context.authorizer."), ""))
        return variables.get(name, "")

    return re.sub(r"\$context(?:\.[A-Za-z_][A-Za-z0-9_]*)+", replace, template)


def _identity_value(source: str, event: dict[str, Any]) -> str | None:
    if source.startswith("method.request.header."):
        wanted = source.removeprefix("method.request.header.").lower()
        return next((v for k, v in (event["headers"] or {}).items() if k.lower() == wanted), None)
    if source.startswith("method.request.querystring."):
        return (event["queryStringParameters"] or {}).get(source.removeprefix("method.request.querystring."))
    raise ValueError(f"identity source {source} is not supported locally")


def _policy_allows(document: dict[str, Any], method_arn: str) -> bool:
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(fnmatch.fnmatchcase("execute-api:invoke", a.lower()) for a in actions):  # IAM ignores case
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
