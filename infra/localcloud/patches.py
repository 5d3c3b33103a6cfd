"""The local cloud's changes to other libraries' code (moto, botocore), in one register.

Each change is made through ``PATCHES``, under a name: applying a named change twice does nothing,
and stopping the local cloud undoes them all, newest first, so a later start in the same process
applies them afresh with its own runtime instead of finding an earlier cloud's still in place.
"""

from __future__ import annotations

import threading
from typing import Any

_ABSENT = object()


class Patches:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._names: list[str] = []
        self._changes: list[tuple[Any, str, Any]] = []

    def first(self, name: str) -> bool:
        """True the first time ``name`` is asked for since the last ``undo`` (the caller then applies it)."""
        with self._lock:
            if name in self._names:
                return False
            self._names.append(name)
            return True

    def replace(self, owner: Any, attribute: str, value: Any) -> None:
        """Set ``owner.attribute``, remembering what it was (or that ``owner`` only inherited it)."""
        with self._lock:
            self._changes.append((owner, attribute, vars(owner).get(attribute, _ABSENT)))
            setattr(owner, attribute, value)

    def applied(self) -> list[str]:
        with self._lock:
            return list(self._names)

    def undo(self) -> None:
        with self._lock:
            for owner, attribute, original in reversed(self._changes):
                if original is _ABSENT:
                    delattr(owner, attribute)
                else:
                    setattr(owner, attribute, original)
            self._changes.clear()
            self._names.clear()


PATCHES = Patches()  # moto's backends and botocore's client class are process-wide, and so are their patches
