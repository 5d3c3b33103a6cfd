"""A function's environment in the in-process runtime: its own thread sees it, no other thread does, and
threads reading ``os.environ`` while functions start and end never find it changing under them."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from localcloud.provision import FunctionSpec
from localcloud.runtime import FunctionRuntime, function_environment

KEY = "WRAPPER_TEST_FUNCTION_ONLY"


def _in_other_thread(read: Any) -> Any:
    seen: list[Any] = []
    thread = threading.Thread(target=lambda: seen.append(read()))
    thread.start()
    thread.join()
    return seen[0]


def test_a_function_sees_its_variables_over_the_process_and_no_other_thread_sees_them() -> None:
    assert KEY not in os.environ
    process_path = os.environ["PATH"]

    with function_environment({KEY: "mine", "PATH": "/function/bin"}):
        assert os.environ[KEY] == "mine" and os.getenv(KEY) == "mine"
        assert os.environ["PATH"] == "/function/bin"
        assert dict(os.environ)[KEY] == "mine" and os.environ.copy()[KEY] == "mine"
        assert KEY in os.environ and KEY in list(os.environ)
        assert "HOME" in os.environ  # the process's own variables show through
        assert _in_other_thread(lambda: (os.environ.get(KEY), os.environ["PATH"])) == (None, process_path)

    assert KEY not in os.environ and KEY not in dict(os.environ.items())


def test_writes_and_deletes_inside_a_function_stay_in_it() -> None:
    with function_environment({}):
        os.environ[KEY] = "written"
        del os.environ["HOME"]
        assert os.environ.get(KEY) == "written" and "HOME" not in os.environ and "HOME" not in list(os.environ)
        with pytest.raises(KeyError):
            del os.environ["HOME"]
        assert _in_other_thread(lambda: (KEY in os.environ, "HOME" in os.environ)) == (False, True)

    assert KEY not in os.environ and "HOME" in os.environ


def test_a_nested_invocation_sees_its_own_variables_and_gives_back_the_outer_ones() -> None:
    with function_environment({KEY: "outer"}):
        with function_environment({KEY: "inner"}):
            assert os.environ[KEY] == "inner"
        assert os.environ[KEY] == "outer"


def test_readers_iterating_the_environment_meet_no_missing_key_while_functions_come_and_go(tmp_path: Path) -> None:
    # What requests' proxy lookup does on every call, in test threads and moto's Step Functions runner.
    runtime = FunctionRuntime({"AWS_ENDPOINT_URL": "http://127.0.0.1:1", **{f"{KEY}_{n}": "x" for n in range(50)}})
    handler = "import os\ndef handler(event, context):\n    return os.environ['AWS_ENDPOINT_URL']\n"
    (tmp_path / "app.py").write_text(handler)
    runtime.register(FunctionSpec(logical_id="Probe", name="probe", arn="arn:aws:lambda:us-east-1:1:function:probe",
                                  code_dir=tmp_path, handler="app.handler", environment={}, layer_dirs=[],
                                  timeout=3, memory=128))
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                for name, value in os.environ.items():
                    assert not name.startswith(KEY), name
                    assert isinstance(value, str)
            except BaseException as error:  # any failure of the reader is the finding
                errors.append(error)
                return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        answers = {runtime.invoke("probe", {}).payload for _ in range(300)}
    finally:
        done.set()
        for reader in readers:
            reader.join()

    assert answers == {"http://127.0.0.1:1"}
    assert errors == []
