"""Fixtures shared by the integration and e2e suites: one embedded local cloud per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def cloud() -> Iterator[Any]:
    """The whole stack of template.yaml, on free ports, with failed SQS batches retried after
    1 s instead of the queue's visibility timeout (so DLQ redrive is testable in seconds)."""
    from localcloud.pollers import PollerSettings
    from localcloud.server import LocalCloud, LocalCloudConfig

    local = LocalCloud(LocalCloudConfig(api_port=0, aws_port=0,
                                        pollers=PollerSettings(sqs_retry_delay_seconds=1)))
    local.start()
    yield local
    local.stop()
    from localcloud.iam import unpermitted

    # moto does not evaluate IAM: fail the run if a function called what its role would refuse.
    missing = unpermitted(local.stack, local.runtime.actions)
    assert not missing, f"functions called AWS actions their template roles do not allow: {missing}"


@pytest.fixture(scope="session")
def table_name(cloud: Any) -> str:
    name: str = cloud.stack.outputs["TableName"]
    return name
