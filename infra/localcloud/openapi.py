"""Build the one OpenAPI 3.1 document of the whole API from every function's routes and models.

The routes come from template.yaml (what API Gateway serves); each function's Powertools
resolver describes its own operations. The two must agree: a route in the template that the
function does not serve, or the reverse, is an error here, so they cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from localcloud.template import Translated, translate

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "layers" / "core" / "wrapper" / "openapi.json"
_FUNCTION_REF = re.compile(r"\$\{(\w+)\.Arn\}")
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


class RouteMismatch(Exception):
    pass


def template_routes(translated: Translated) -> dict[str, list[tuple[str, str, bool]]]:
    """function logical id -> [(path, method, secured)] from the API's swagger body."""
    routes: dict[str, list[tuple[str, str, bool]]] = {}
    for resource in translated.resources.values():
        if resource["Type"] != "AWS::ApiGateway::RestApi":
            continue
        for path, methods in resource["Properties"]["Body"].get("paths", {}).items():
            for method, operation in methods.items():
                integration = operation.get("x-amazon-apigateway-integration", {})
                if integration.get("type") != "aws_proxy":
                    continue
                found = _FUNCTION_REF.search(json.dumps(integration["uri"]))
                if not found:
                    raise RouteMismatch(f"{method} {path}: cannot tell which function serves it")
                secured = any(name != "NONE" for entry in operation.get("security", []) for name in entry)
                routes.setdefault(found.group(1), []).append((path, method.lower(), secured))
    return routes


def _load_app(translated: Translated, logical_id: str) -> Any:
    resource = translated.resources[logical_id]
    module_name = resource["Properties"]["Handler"].rpartition(".")[0]
    code_dir = translated.code_paths[logical_id]
    file = code_dir / (module_name.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(f"openapi_{logical_id}", file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # A function's own modules (its routers) may already be loaded by the local runtime, and
    # include_router rebinds a router to the app that includes it: load fresh copies for this
    # app and put the runtime's back, so its routers keep answering for the runtime's app.
    held = _modules_under(code_dir)
    for name in held:
        del sys.modules[name]
    sys.modules[spec.name] = module
    sys.path.insert(0, str(code_dir))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(code_dir))
        for name in _modules_under(code_dir):
            del sys.modules[name]
        sys.modules.update(held)
    return module.app


def _modules_under(directory: Path) -> dict[str, Any]:
    root = str(directory.resolve())
    return {name: module for name, module in list(sys.modules.items())
            if str(getattr(module, "__file__", None) or "").startswith(root)}


def build_document(template: Path, *, version: str) -> dict[str, Any]:
    translated = translate(template)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Wrapper API", "version": version,
                 "description": "Multi-tenant SaaS backend: identity, tenancy, catalog, subscriptions, "
                                "metering and billing. Errors are RFC 9457 problem+json."},
        "servers": [{"url": "http://127.0.0.1:3000", "description": "Embedded local cloud"}],
        "paths": {},
        "components": {
            "schemas": {"Problem": _PROBLEM},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }
    problem_response = {"description": "Problem details",
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for logical_id, routes in sorted(template_routes(translated).items()):
        app = _load_app(translated, logical_id)
        schema = app.get_openapi_schema(title="Wrapper API", version=version).model_dump(
            by_alias=True, exclude_none=True, mode="json")
        served = {(path, method) for path, ops in schema.get("paths", {}).items() for method in ops}
        declared = {(path, method) for path, method, _ in routes}
        if served != declared:
            raise RouteMismatch(f"{logical_id}: template declares {sorted(declared - served)} that the code "
                                f"does not serve; code serves {sorted(served - declared)} the template lacks")
        for path, method, secured in routes:
            operation = schema["paths"][path][method]
            responses = operation.setdefault("responses", {})
            if "500" in responses:
                responses["500"] = {**problem_response, "description": "Internal error"}
            responses["422"] = {**problem_response, "description": "The request does not match the schema"}
            responses["default"] = problem_response
            operation["security"] = [{"bearerAuth": []}, {"apiKey": []}] if secured else []
            document["paths"].setdefault(path, {})[method] = operation
        for name, component in schema.get("components", {}).get("schemas", {}).items():
            if name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
                continue
            document["components"]["schemas"][name] = component
    document["paths"] = dict(sorted(document["paths"].items()))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
