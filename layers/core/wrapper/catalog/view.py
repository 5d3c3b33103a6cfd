"""The catalog as a function holds it between requests: one snapshot of meters, features and plans,
refreshed after a maximum age, so a hot path (usage ingestion, entitlement checks) reads no catalog."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from wrapper.catalog.models import Feature, Meter, Plan
from wrapper.catalog.store import Catalog


@dataclass(frozen=True)
class Snapshot:
    meters: dict[str, Meter]
    features: dict[str, Feature]
    plans: dict[str, Plan]
    taken: float

    def default_plan(self) -> Plan | None:
        return next((p for p in self.plans.values() if p.is_default and p.status == "active"), None)


@dataclass
class CatalogView:
    """The catalog's meters, features and plans, read once per cold start and again after
    ``max_age`` seconds: entitlement checks then cost no catalog read."""

    catalog: Catalog
    max_age: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _snapshot: Snapshot | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self, *, older_than: float | None = None) -> Snapshot:
        """The cached snapshot, or a new one when it is older than ``older_than`` (default max_age)."""
        limit = self.max_age if older_than is None else older_than
        with self._lock:
            if self._snapshot is None or self.clock() - self._snapshot.taken > limit:
                self._snapshot = Snapshot(meters={m.code: m for m in self.catalog.meters()},
                                          features={f.code: f for f in self.catalog.features()},
                                          plans={p.id: p for p in self.catalog.plans()}, taken=self.clock())
            return self._snapshot
