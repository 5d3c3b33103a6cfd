"""The one door to AWS: a client is built on its first use, not when a function's composition module takes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from wrapper import aws
from wrapper.settings import Settings


class FakeSession:
    """Stands in for ``boto3.session.Session``: counts the clients built."""

    built: list[dict[str, Any]] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        FakeSession.built.append({"service": service, **kwargs})
        return FakeClient(service)


class FakeClient:
    def __init__(self, service: str) -> None:
        self.service = service
        self.meta = {"service": service}

    def describe_thing(self, **kwargs: Any) -> dict[str, Any]:
        return {"service": self.service, **kwargs}


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    FakeSession.built = []
    monkeypatch.setattr(aws.boto3.session, "Session", FakeSession)
    aws.client.cache_clear()
    yield FakeSession.built
    aws.client.cache_clear()


def test_a_client_is_built_on_first_use_not_when_handed_out(sessions: list[dict[str, Any]]) -> None:
    # Given a function's client, as its composition module takes it at import
    sqs = aws.client("sqs", "eu-west-1", "http://localhost:4566")

    # Then nothing is built until the client is used
    assert sessions == []

    # When it is called, twice
    first = sqs.describe_thing(Name="a")
    second = sqs.describe_thing(Name="b")

    # Then one client was built, with the function's region and endpoint, and answered both calls
    assert first == {"service": "sqs", "Name": "a"} and second == {"service": "sqs", "Name": "b"}
    assert [(b["service"], b["region_name"], b["endpoint_url"]) for b in sessions] == [
        ("sqs", "eu-west-1", "http://localhost:4566")]


def test_every_attribute_is_the_built_clients(sessions: list[dict[str, Any]]) -> None:
    ssm = aws.client("ssm", "us-east-1")
    assert ssm.meta == {"service": "ssm"}
    assert len(sessions) == 1


def test_one_client_per_service_region_and_endpoint(sessions: list[dict[str, Any]]) -> None:
    assert aws.client("sqs", "us-east-1") is aws.client("sqs", "us-east-1")
    assert aws.client("sqs", "us-east-1") is not aws.client("sqs", "eu-west-1")
    settings = Settings(AWS_REGION="eu-west-1")
    assert aws.client_for(settings, "sqs") is aws.client("sqs", "eu-west-1", None)
    assert sessions == []
