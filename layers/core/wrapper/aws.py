"""The one door to AWS: boto3 clients, created on first use and reused for the life of the function.

``client`` hands out a ``LazyClient``: building a boto3 client loads its service model and endpoint
rules (tens of milliseconds each), so it is done when the client is first called, not at import. A
cold start whose request never reaches a service (SSM, STS, SES, Cognito...) never pays for its client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from wrapper.settings import Settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=10)

# What X-Ray patches when a function's Tracer starts (``Tracer(patch_modules=...)``): the AWS SDK, and in
# the functions that call Stripe the HTTP library Stripe's SDK sends with. Powertools' default patches every
# library X-Ray knows, importing each one at cold start only to wrap it.
TRACED_MODULES = ("botocore",)
TRACED_MODULES_WITH_STRIPE = (*TRACED_MODULES, "requests")


class LazyClient:
    """A boto3 client, built by ``factory`` on its first attribute access (a call, ``meta``, ``exceptions``)
    and kept; every attribute is the built client's."""

    __slots__ = ("_built", "_factory", "_lock")

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._built: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._factory()
                built = self._built
        return getattr(built, name)


@cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """The client of a service, one per process and endpoint, built on first use.

    endpoint_url is None on AWS; boto3 also honours AWS_ENDPOINT_URL by itself, the explicit
    argument keeps logic independent of the process environment."""
    def build() -> Any:
        session = boto3.session.Session()
        return session.client(service, region_name=region, endpoint_url=endpoint_url,  # type: ignore[call-overload]
                              config=_CONFIG)

    return LazyClient(build)


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
