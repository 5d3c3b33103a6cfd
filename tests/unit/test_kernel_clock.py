"""The layer's one source of "now": the real time plus an offset only the local cloud sets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wrapper.kernel import clock

REAL = 1_767_225_600.25  # 2026-01-01T00:00:00.25Z
LAYER = Path(__file__).resolve().parents[2] / "layers" / "core" / "wrapper"


@pytest.fixture(autouse=True)
def real_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real time stands still at REAL, and every test leaves the offset as it found it."""
    monkeypatch.setattr(clock.time, "time", lambda: REAL)
    before = clock.offset()
    yield
    clock.set_offset(before)


def test_without_an_offset_the_clock_is_the_real_time() -> None:
    clock.set_offset(0)

    assert clock.offset() == 0
    assert clock.epoch() == REAL
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_an_offset_moves_both_answers_by_the_same_seconds() -> None:
    clock.set_offset(86_400 + 0.5)

    assert clock.offset() == 86_400.5
    assert clock.epoch() == REAL + 86_400.5
    assert clock.now() == datetime(2026, 1, 2, 0, 0, 0, 750000, tzinfo=UTC)
    assert clock.now().timestamp() == clock.epoch()


def test_an_offset_of_zero_goes_back_to_the_real_time() -> None:
    clock.set_offset(3600)
    clock.set_offset(0)

    assert clock.epoch() == REAL


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), True])
def test_an_offset_that_is_not_a_finite_number_is_refused_and_changes_nothing(bad: float) -> None:
    clock.set_offset(60)

    with pytest.raises(ValueError, match="finite number of seconds"):
        clock.set_offset(bad)

    assert clock.offset() == 60


def test_layer_classes_read_the_offset_clock_by_default() -> None:
    # Given defaults taken from the kernel clock, not bound to time.time at import
    from wrapper.identity.apikeys import ApiKeys
    from wrapper.tenancy.invites import Invites

    keys = ApiKeys(table=None, outbox_ttl_days=7)  # type: ignore[arg-type]
    invites = Invites(table=None, outbox_ttl_days=7)  # type: ignore[arg-type]

    # When the local cloud moves the clock a day ahead
    clock.set_offset(86_400)

    # Then they see the moved time
    assert keys.clock() == invites.clock() == REAL + 86_400


def test_a_key_id_carries_the_clocks_time() -> None:
    # The authorizer compares a key's minting time (its ULID) with the creator's joining time
    # (written on the clock): both must be read on the same clock.
    from wrapper.identity.apikeys import mint_key, minted_at

    clock.set_offset(86_400)
    key_id, _ = mint_key()

    assert minted_at(key_id) == datetime(2026, 1, 2, 0, 0, 0, 250000, tzinfo=UTC)


# Where the layer may still read the real time, and why: a clock that is not ours.
REAL_TIME_ALLOWED = {
    "kernel/clock.py": "the one source: the real time plus the offset",
    "tenancy/scoping.py": "compared with the expiry STS stamped on its own clock",
}
_READS_THE_TIME = re.compile(r"\btime\.time\b|\bdatetime\.now\b|\bdatetime\.utcnow\b|\bdate\.today\b")


def test_the_layer_reads_the_time_only_through_the_kernel_clock() -> None:
    offenders = []
    for path in sorted(LAYER.rglob("*.py")):
        relative = path.relative_to(LAYER).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if _READS_THE_TIME.search(code) and relative not in REAL_TIME_ALLOWED:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "read wrapper.kernel.clock.now()/epoch() instead:\n" + "\n".join(offenders)
