"""The one door to AWS: boto3 clients, created once per cold start and reused."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from wrapper.settings import Settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=10)


@cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    # endpoint_url is None on AWS; boto3 also honours AWS_ENDPOINT_URL by itself, the explicit
    # argument keeps logic independent of the process environment.
    session = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url,  # type: ignore[call-overload]
                          config=_CONFIG)


def client_for(settings: Settings, service: str) -> Any:
    """The client a function uses, from its settings (region and, locally, the endpoint)."""
    return client(service, settings.aws_region, settings.aws_endpoint_url)


def client_with_credentials(service: str, region: str, endpoint_url: str | None,
                            credentials: Mapping[str, Any]) -> Any:
    """A client acting with assumed-role credentials (STS ``Credentials``), not the function's role."""
    session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"])
    return session.client(service, region_name=region, endpoint_url=endpoint_url,  # type: ignore[call-overload]
                          config=_CONFIG)
