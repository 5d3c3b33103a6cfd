"""/_local/clock on the API front: read, move forward, refuse bad input (problem+json), reset."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from localcloud import clock as local_clock
from localcloud.apifront import ApiFront
from tests.unit.apifront_world import PATHS, rest_api
from wrapper.kernel import clock

REAL = 1_767_225_600.0  # 2026-01-01T00:00:00Z
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def real_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real time stands still at REAL; every test starts and ends on it."""
    monkeypatch.setattr(time, "time", lambda: REAL)
    clock.set_offset(0)
    yield
    clock.set_offset(0)


@pytest.fixture(scope="module")
def front() -> ApiFront:
    return ApiFront(rest_api(PATHS), runtime=None, host="127.0.0.1", port=0,  # type: ignore[arg-type]
                    local_pages={"/_local/clock": local_clock.PAGE, "/_local/emails": {"GET": lambda _: {"items": []}}})


def send(front: ApiFront, method: str, body: Any = None, *, raw: bytes | None = None,
         path: str = "/_local/clock") -> Response:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = EnvironBuilder(method=method, path=path, data=data, content_type="application/json").get_request()
    return front.handle(request)


def test_the_clock_reads_the_real_time_until_it_is_moved(front: ApiFront) -> None:
    answer = send(front, "GET")

    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.json == {"now": "2026-01-01T00:00:00.000Z", "offset_seconds": 0}


def test_advancing_moves_every_reader_of_the_layer_clock(front: ApiFront) -> None:
    answer = send(front, "POST", {"advance_seconds": 90.5})

    assert answer.status_code == 200
    assert answer.json == {"now": "2026-01-01T00:01:30.500Z", "offset_seconds": 90.5}
    assert clock.epoch() == REAL + 90.5  # what the functions read
    assert send(front, "POST", {"advance_seconds": 60}).json["offset_seconds"] == 150.5  # advances add up
    assert send(front, "GET").json["now"] == "2026-01-01T00:02:30.500Z"


@pytest.mark.parametrize("moment", ["2026-03-01T12:00:00Z", "2026-03-01T14:00:00+02:00"])
def test_setting_a_later_time_moves_the_clock_there(front: ApiFront, moment: str) -> None:
    answer = send(front, "POST", {"now": moment})

    assert answer.status_code == 200
    assert answer.json == {"now": "2026-03-01T12:00:00.000Z", "offset_seconds": 59 * 86_400 + 12 * 3600}


def test_an_earlier_time_is_refused_the_clock_moves_forward_only(front: ApiFront) -> None:
    send(front, "POST", {"now": "2026-03-01T00:00:00Z"})

    answer = send(front, "POST", {"now": "2026-02-01T00:00:00Z"})  # still later than the real time

    assert answer.status_code == 409 and answer.mimetype == PROBLEM
    problem = answer.json
    assert problem["type"] == "urn:wrapper:problem:conflict" and problem["status"] == 409
    assert "2026-03-01T00:00:00.000Z" in problem["detail"] and "DELETE /_local/clock" in problem["detail"]
    assert send(front, "GET").json["now"] == "2026-03-01T00:00:00.000Z"


def test_delete_goes_back_to_the_real_time(front: ApiFront) -> None:
    send(front, "POST", {"advance_seconds": 86_400})

    answer = send(front, "DELETE")

    assert answer.status_code == 200
    assert answer.json == {"now": "2026-01-01T00:00:00.000Z", "offset_seconds": 0}
    assert clock.offset() == 0
    assert send(front, "POST", {"now": "2026-01-01T00:00:01Z"}).status_code == 200  # and forward again from there


@pytest.mark.parametrize(("body", "field"), [
    ({}, "body"),                                                         # neither
    ({"now": "2026-02-01T00:00:00Z", "advance_seconds": 1}, "body"),      # both
    ({"now": "2026-02-01T00:00:00"}, "now"),                              # no offset: which zone?
    ({"now": "2026-02-01"}, "now"),                                       # a date is no time
    ({"now": "tomorrow"}, "now"),
    ({"now": 1_800_000_000}, "now"),                                      # epoch seconds are not RFC 3339
    ({"advance_seconds": 0}, "advance_seconds"),
    ({"advance_seconds": -60}, "advance_seconds"),                        # back is DELETE's job
    ({"advance_seconds": "60"}, "advance_seconds"),
    ({"advance_seconds": True}, "advance_seconds"),
    ({"advance_seconds": 3600, "tz": "UTC"}, "tz"),                       # unknown fields are refused
    ([{"advance_seconds": 60}], "body"),
    ({"advance_seconds": 101 * 366 * 86_400}, "body"),                    # past a century ahead
    ({"now": "9999-12-31T23:59:59Z"}, "body"),
])
def test_bad_input_is_a_422_problem_and_moves_nothing(front: ApiFront, body: Any, field: str) -> None:
    answer = send(front, "POST", body)

    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.mimetype == PROBLEM
    problem = answer.json
    assert problem["type"] == "urn:wrapper:problem:validation-error" and problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert clock.offset() == 0


@pytest.mark.parametrize("raw", [b"", b"{not json", b"advance_seconds=60"])
def test_a_body_that_is_not_json_is_a_400_problem(front: ApiFront, raw: bytes) -> None:
    answer = send(front, "POST", raw=raw)

    assert answer.status_code == 400 and answer.mimetype == PROBLEM
    assert answer.json["type"] == "urn:wrapper:problem:malformed-json"
    assert clock.offset() == 0


@pytest.mark.parametrize(("path", "method", "allowed"), [
    ("/_local/clock", "PUT", "GET, POST, DELETE"),
    ("/_local/emails", "POST", "GET"),
])
def test_a_method_a_local_page_does_not_serve_is_a_405_with_allow(front: ApiFront, path: str, method: str,
                                                                   allowed: str) -> None:
    answer = send(front, method, {"advance_seconds": 60}, path=path)

    assert answer.status_code == 405 and answer.mimetype == PROBLEM
    assert answer.headers["Allow"] == allowed
    assert clock.offset() == 0


def test_the_clock_command_without_a_running_cloud_says_how_to_start_one(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from localcloud.__main__ import main

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("WRAPPER_API_PORT", str(port))

    assert main(["clock", "--advance", "60"]) == 2
    assert "python -m localcloud up" in capsys.readouterr().err
    assert clock.offset() == 0
