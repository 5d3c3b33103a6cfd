"""check_health: each dependency probed, with its latency, and nothing sensitive reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from wrapper.health import check_health


class LeakyError(Exception):
    pass


def ok() -> None:
    return None


def failing() -> None:
    raise LeakyError("AccessDenied for arn:aws:iam::123456789012:role/secret-role")


def ticking(*instants: float) -> Callable[[], float]:
    """A clock that answers the given instants in turn."""
    answers: Iterator[float] = iter(instants)
    return lambda: next(answers)


def test_all_probes_answering_means_ok() -> None:
    # Given two dependencies that answer
    probes = {"table": ok, "event_bus": ok}

    # When health is checked
    health = check_health(probes, version="1.2.3", stage="dev")

    # Then the status is ok and each check is ok without an error
    assert health.status == "ok"
    assert health.version == "1.2.3"
    assert health.stage == "dev"
    assert set(health.checks) == {"table", "event_bus"}
    assert all(check.ok and check.error is None for check in health.checks.values())


def test_one_probe_raising_means_degraded() -> None:
    # Given one dependency that answers and one that raises
    probes = {"table": ok, "event_bus": failing}

    # When health is checked
    health = check_health(probes, version="1", stage="dev")

    # Then the status is degraded, and only the raising probe's check failed
    assert health.status == "degraded"
    assert health.checks["table"].ok
    assert not health.checks["event_bus"].ok


def test_a_failed_check_names_the_error_class_and_not_its_message() -> None:
    # Given a probe whose error message carries an account id and an ARN
    probes = {"event_bus": failing}

    # When health is checked
    health = check_health(probes, version="1", stage="dev")

    # Then the check names the class only, and the message appears nowhere in the answer
    assert health.checks["event_bus"].error == "LeakyError"
    dumped = health.model_dump_json()
    assert "123456789012" not in dumped
    assert "secret-role" not in dumped


def test_latency_is_measured_with_the_injected_clock_in_milliseconds() -> None:
    # Given a clock that advances 0.25 s while the probe runs
    clock = ticking(10.0, 10.25)

    # When health is checked
    health = check_health({"table": ok}, version="1", stage="dev", clock=clock)

    # Then the latency is 250 ms
    assert health.checks["table"].latency_ms == 250.0


def test_latency_is_measured_for_a_failing_probe_too() -> None:
    # Given a clock that advances 1.5 s while the probe fails
    clock = ticking(3.0, 4.5)

    # When health is checked
    health = check_health({"table": failing}, version="1", stage="dev", clock=clock)

    # Then the latency is 1500 ms
    assert health.checks["table"].latency_ms == 1500.0


def test_latency_is_rounded_to_hundredths_of_a_millisecond() -> None:
    # Given a clock that advances 1.23456 ms
    clock = ticking(0.0, 0.00123456)

    # When health is checked
    health = check_health({"table": ok}, version="1", stage="dev", clock=clock)

    # Then the latency keeps two decimals
    assert health.checks["table"].latency_ms == 1.23
