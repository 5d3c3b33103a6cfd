"""Health: does each dependency answer? Probes are passed in, so this is tested without AWS."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Literal

from wrapper.kernel.model import Model


class Check(Model):
    ok: bool
    latency_ms: float
    error: str | None = None


class Health(Model):
    status: Literal["ok", "degraded"]
    version: str
    stage: str
    checks: dict[str, Check]


def check_health(
    probes: Mapping[str, Callable[[], object]],
    *,
    version: str,
    stage: str,
    clock: Callable[[], float] = time.perf_counter,
) -> Health:
    checks: dict[str, Check] = {}
    for name, probe in probes.items():
        started = clock()
        try:
            probe()
            checks[name] = Check(ok=True, latency_ms=round((clock() - started) * 1000, 2))
        except Exception as exc:
            # The error class only: messages may carry account ids or ARNs.
            checks[name] = Check(ok=False, latency_ms=round((clock() - started) * 1000, 2),
                                 error=type(exc).__name__)
    status: Literal["ok", "degraded"] = "ok" if all(c.ok for c in checks.values()) else "degraded"
    return Health(status=status, version=version, stage=stage, checks=checks)
