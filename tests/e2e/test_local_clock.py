"""The local cloud's settable clock, as the functions see it: what they stamp, which expiries pass,
which day the billing run bills; and the ``python -m localcloud clock`` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.__main__ import main
from tests.support import LocalClock, call, finished_billing, signup, wait_for


def _some_day_years_ahead(years: int) -> datetime:
    """A fixed time of day some years ahead of the real time: always ahead, whenever the test runs."""
    return datetime(datetime.now(UTC).year + years, 5, 17, 9, 30, tzinfo=UTC)


def test_a_function_stamps_the_time_the_clock_is_set_to(cloud: Any, local_clock: LocalClock) -> None:
    # Given a tenant, and the clock set years ahead
    owner = signup(cloud, "Clockwork")
    moment = _some_day_years_ahead(5)
    assert local_clock.set(moment) == moment

    # When its owner changes it
    answer = call(cloud, "PATCH", "/v1/tenant", owner, body={"name": "Clockwork Futures"})
    after = local_clock.now()

    # Then the change, and its event, carry the clock's time, not the wall clock's (years before)
    assert answer.status_code == 200, answer.text
    assert moment <= datetime.fromisoformat(answer.json()["updated_at"]) <= after

    def audited() -> list[dict[str, Any]]:
        entries = call(cloud, "GET", "/v1/audit-log", owner, action="tenant.updated").json()["items"]
        return list(entries)

    occurred = wait_for(audited, message="the tenant.updated audit entry")[0]["occurred_at"]
    assert moment <= datetime.fromisoformat(occurred) <= after


def test_an_api_key_expires_when_the_clock_passes_its_expiry_and_a_token_still_signs_in(
        cloud: Any, local_clock: LocalClock) -> None:
    # Given a key that expires in a day, and the owner's Cognito token (stamped by moto on the real time)
    owner = signup(cloud, "Expiring Keys")
    expires = (local_clock.now() + timedelta(days=1)).replace(microsecond=0)
    created = call(cloud, "POST", "/v1/api-keys", owner, body={"name": "ci", "scopes": ["read"],
                                                               "expires_at": expires.isoformat()})
    assert created.status_code == 201, created.text
    key = {"X-Api-Key": created.json()["key"]}
    assert call(cloud, "GET", "/v1/tenant", None, headers=key).status_code == 200

    # When the clock moves two days ahead
    local_clock.advance(2 * 86_400)

    # Then the authorizer refuses the key, while the token, whose times are its issuer's, still passes
    refused = call(cloud, "GET", "/v1/tenant", None, headers=key)
    assert refused.status_code == 401 and refused.headers["Content-Type"] == "application/problem+json"
    assert call(cloud, "GET", "/v1/tenant", owner).status_code == 200

    # And back on the real time the key is good again
    local_clock.reset()
    assert call(cloud, "GET", "/v1/tenant", None, headers=key).status_code == 200


def test_the_billing_run_bills_the_day_the_clock_shows(cloud: Any, local_clock: LocalClock,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Given the clock on a day years ahead
    moment = _some_day_years_ahead(7)
    local_clock.set(moment)

    # When the daily schedule is fired from the command line, with no --at
    monkeypatch.setenv("WRAPPER_API_PORT", str(cloud.api.port))
    monkeypatch.setenv("WRAPPER_AWS_PORT", str(cloud.config.aws_port))
    assert main(["run-schedule", cloud.stack.resources["BillingRunStateMachineDaily"].ref]) == 0
    started = json.loads(capsys.readouterr().out)

    # Then the run is the clock's day's
    scheduled = datetime.fromisoformat(started["input"]["scheduled_time"])
    assert moment <= scheduled + timedelta(seconds=1) and scheduled <= local_clock.now()  # kept to the second
    execution = finished_billing(cloud, started["executionArn"])
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["run_date"] == moment.date().isoformat()


def test_the_clock_command_reads_moves_and_resets_a_running_cloud(cloud: Any, local_clock: LocalClock,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WRAPPER_API_PORT", str(cloud.api.port))

    def run(*args: str) -> tuple[int, dict[str, Any]]:
        status = main(["clock", *args])
        out, err = capsys.readouterr()
        return status, json.loads(out or err)

    assert run()[1]["offset_seconds"] == 0
    assert run("--advance", "3600")[1]["offset_seconds"] >= 3600
    moment = _some_day_years_ahead(3)
    assert run("--set", moment.isoformat()) == (0, {"now": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                                    "offset_seconds": pytest.approx(local_clock.offset())})
    status, problem = run("--set", (moment - timedelta(days=1)).isoformat())  # backwards
    assert status == 1 and problem["status"] == 409
    assert run("--reset")[1]["offset_seconds"] == 0
    assert local_clock.offset() == 0
