"""moto's server finds the service of every request again from scratch.

For each request its dispatcher lists moto's package directory (about 150 ``isdir`` calls) and
then tries every service's URL pattern, holding one lock: a fifth of the server's time under
usage load, measured with py-spy. The answer depends only on the host it works out, so it is
kept per host here.
"""

from __future__ import annotations

import functools
from typing import Any

from localcloud.patches import PATCHES


def patch_dispatch() -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if not PATCHES.first("moto: cached dispatch"):
        return
    modules = frozenset(backends.list_of_moto_modules())
    PATCHES.replace(backends, "list_of_moto_modules", lambda: modules)
    backend_for_host = DomainDispatcherApplication.get_backend_for_host

    @functools.lru_cache(maxsize=256)
    def cached(self: Any, host: str | None) -> Any:
        return backend_for_host(self, host)

    PATCHES.replace(DomainDispatcherApplication, "get_backend_for_host", cached)
