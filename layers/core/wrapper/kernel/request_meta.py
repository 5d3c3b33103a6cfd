"""Where a change came from: the request's id and the caller's address, as the audit log keeps them.

The HTTP layer reads them from API Gateway's event (``wrapper.api.app.request_meta_of``) and the
tenant middleware puts them on the ``Actor``; a public route (sign-up, sign-in, password reset,
accepting an invite) has no actor and hands them to its service as one argument. Work no HTTP request
started (billing runs, consumers, tests) carries ``NO_REQUEST``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    """The request a change came with: its id (the caller's ``X-Request-Id`` or API Gateway's) and the
    caller's source IP."""

    request_id: str | None = None
    source_ip: str | None = None


NO_REQUEST = RequestMeta()
