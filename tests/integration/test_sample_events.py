"""The API sample events in events/ stay true: each names a route its function serves in
template.yaml, and the function answers it (no 5xx, problem+json when it refuses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import EVENTS, REPO

TEMPLATE = REPO / "template.yaml"


def _api_samples() -> list[Path]:
    return sorted(p for p in EVENTS.glob("*/*.json") if "httpMethod" in json.loads(p.read_text())
                  and "methodArn" not in json.loads(p.read_text()))


def _routes(cloud: Any) -> dict[tuple[str, str], str]:
    """(method, resource path) → the logical id of the function that serves it."""
    routes: dict[tuple[str, str], str] = {}
    for logical_id, resource in cloud.stack.translated.sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                routes[(event["Properties"]["Method"].upper(), event["Properties"]["Path"])] = logical_id
    return routes


@pytest.mark.parametrize("sample", _api_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_an_api_sample_event_is_a_route_its_function_answers(cloud: Any, sample: Path) -> None:
    event = json.loads(sample.read_text())
    logical_id = _routes(cloud).get((event["httpMethod"], event["resource"]))
    assert logical_id, f"{sample.name}: no function serves {event['httpMethod']} {event['resource']}"
    assert cloud.stack.translated.code_paths[logical_id].name == sample.parent.name
    name = next(n for n, spec in cloud.stack.functions.items() if spec.logical_id == logical_id)
    result = cloud.runtime.invoke(name, event)
    assert not result.failed, result.error
    answer = result.payload
    assert answer["statusCode"] < 500, answer
    if answer["statusCode"] >= 400:
        headers = {**answer.get("headers", {}), **{k: v[-1] for k, v in answer.get("multiValueHeaders", {}).items()}}
        assert headers["Content-Type"] == "application/problem+json", answer


@pytest.mark.parametrize("sample", sorted(EVENTS.glob("authorizer/*.json")), ids=lambda p: p.name)
def test_the_authorizer_refuses_the_sample_credentials(cloud: Any, sample: Path) -> None:
    """The samples carry made-up credentials (a bearer token, an API key): the authorizer reads
    the event's shape and answers Unauthorized, which API Gateway turns into a 401."""
    event = json.loads(sample.read_text())
    name = next(n for n, spec in cloud.stack.functions.items() if spec.logical_id == "AuthorizerFunction")
    result = cloud.runtime.invoke(name, event)
    assert result.failed and "Unauthorized" in str(result.error)
