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


@pytest.fixture
def local_clock(cloud: Any) -> Iterator[Any]:
    """The local cloud's clock, for a test that moves it instead of waiting for the wall clock.

    It is put back to the real time after the test, whatever the test did. What the test wrote
    while the clock was ahead keeps those future times (windows, expiries, stamps), so a test that
    moves the clock works only with items of its own: its own tenants, users and keys."""
    from tests.support import LocalClock

    clock = LocalClock(cloud.api_url)
    assert clock.offset() == 0, "a test before this one left the clock moved: move it through this fixture"
    yield clock
    clock.reset()


@pytest.fixture(scope="session")
def table_name(cloud: Any) -> str:
    name: str = cloud.stack.outputs["TableName"]
    return name
