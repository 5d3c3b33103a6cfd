"""AWS calls made inside the local cloud's own process reach moto without a socket.

The functions, pollers and tests run in the process that serves moto. Over loopback each call
paid a TCP connection (werkzeug answers ``Connection: close``), a new server thread, and HTTP
parsing on both sides, all under one GIL. Here botocore's send is handed to the same WSGI
application the server runs, in the calling thread: the same request bytes, signature, routing
and response parsing, without the socket. Callers in other processes (``make dev``'s users,
curl, the AWS CLI) still use the port.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

_APPS: dict[str, Callable[..., Any]] = {}  # "host:port" -> moto's WSGI application
_LOCK = threading.Lock()


class _Body:
    """What botocore reads a response body from (``stream()`` for content, ``read()`` for streams)."""

    def __init__(self, content: bytes) -> None:
        self._buffer = io.BytesIO(content)

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self._buffer.read()
        while chunk:
            yield chunk
            chunk = self._buffer.read()

    def read(self, amt: int | None = None) -> bytes:
        return self._buffer.read(amt)

    def close(self) -> None:
        self._buffer.close()


def serve_in_process(netloc: str, app: Callable[..., Any]) -> None:
    """Send this process's botocore requests for ``netloc`` (host:port) straight to ``app``."""
    _patch()
    with _LOCK:
        _APPS[netloc] = app


def stop_serving(netloc: str) -> None:
    with _LOCK:
        _APPS.pop(netloc, None)


def _patch() -> None:
    from botocore.endpoint import Endpoint

    if getattr(Endpoint, "_wrapper_in_process", False):
        return
    send = Endpoint._send  # type: ignore[attr-defined]

    def in_process_send(self: Any, request: Any) -> Any:
        parts = urlsplit(request.url)
        app = _APPS.get(parts.netloc)
        if app is None:
            return send(self, request)
        return _call(app, request, parts)

    Endpoint._send = in_process_send  # type: ignore[attr-defined]
    Endpoint._wrapper_in_process = True  # type: ignore[attr-defined]


def _call(app: Callable[..., Any], request: Any, parts: Any) -> Any:
    from botocore.awsrequest import AWSResponse, HTTPHeaders
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()}
    builder = EnvironBuilder(method=request.method, base_url=f"{parts.scheme}://{parts.netloc}", path=parts.path,
                             query_string=parts.query, headers=headers, data=body or b"")
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    try:
        content = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close:
            close()
    answer_headers = HTTPHeaders()
    for name, value in response_headers.items():
        answer_headers[name] = value
    return AWSResponse(request.url, int(status.split(" ", 1)[0]), answer_headers, _Body(content))
