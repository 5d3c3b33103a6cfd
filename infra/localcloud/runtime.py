"""Run our Lambda functions in this process.

Every function's ``app.py`` is loaded under a unique module name, and its environment is
seen only by the thread that runs it, only while it runs (one invocation at a time, like one
warm Lambda sandbox per function). moto's single Lambda execution hook is replaced with a call into this runtime,
so every AWS path that invokes a function (API, queues, streams, rules, Step Functions)
reaches our code.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from localcloud.patches import PATCHES
from localcloud.provision import FunctionSpec


@dataclass
class Invocation:
    payload: Any
    error: dict[str, Any] | None
    duration_ms: float

    @property
    def failed(self) -> bool:
        return self.error is not None


class LambdaContext:
    """The attributes of the context object Lambda passes to a Python handler."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRuntime:
    def __init__(self, base_environment: dict[str, str]) -> None:
        self.base_environment = base_environment
        self._specs: dict[str, FunctionSpec] = {}
        self._arns: dict[str, str] = {}
        self._handlers: dict[str, Any] = {}
        # One invocation at a time: handler modules, the running function and its faults are process-wide.
        self._lock = threading.RLock()
        self.invocations: dict[str, int] = {}
        # IAM actions each function's own code called (by logical id), to hold against its role.
        self.actions: dict[str, set[str]] = {}
        # Tests make a function fail half way: called with the operation name after each AWS call
        # the function's own code makes (by logical id); raising there loses the call's answer.
        self.faults: dict[str, Callable[[str], None]] = {}
        self._running: tuple[FunctionSpec, int] | None = None

    def register(self, spec: FunctionSpec) -> None:
        self._specs[spec.name] = spec
        self._arns[spec.arn] = spec.name
        for layer_dir in spec.layer_dirs:
            if str(layer_dir) not in sys.path:
                sys.path.append(str(layer_dir))

    def spec(self, name_or_arn: str) -> FunctionSpec:
        name = self._arns.get(name_or_arn, name_or_arn)
        if ":function:" in name:
            name = name.split(":function:", 1)[1].split(":", 1)[0]
        return self._specs[name]

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        spec = self.spec(name_or_arn)
        with self._lock, self._environment(spec):
            started = time.perf_counter()
            outer, self._running = self._running, (spec, threading.get_ident())
            try:
                handler = self._handler(spec)
                result = handler(event, LambdaContext(spec))
                json.dumps(result)  # a handler's result must be JSON, as Lambda requires
                error = None
            except Exception as exc:
                result = None
                error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                         "stackTrace": traceback.format_exception(exc)}
            finally:
                self._running = outer
            self.invocations[spec.name] = self.invocations.get(spec.name, 0) + 1
            return Invocation(result, error, (time.perf_counter() - started) * 1000)

    def module(self, name_or_arn: str) -> ModuleType:
        """The loaded module of a function (loads it, cold start, if needed)."""
        spec = self.spec(name_or_arn)
        with self._lock, self._environment(spec):
            self._handler(spec)
        return sys.modules[self._module_name(spec)]

    @staticmethod
    def _module_name(spec: FunctionSpec) -> str:
        return f"lambda_{spec.logical_id}_{spec.handler.rsplit('.', 1)[0].replace('.', '_')}"

    def _handler(self, spec: FunctionSpec) -> Any:
        if spec.name in self._handlers:
            return self._handlers[spec.name]
        module_path, _, attribute = spec.handler.rpartition(".")
        file = spec.code_dir / (module_path.replace(".", "/") + ".py")
        unique = self._module_name(spec)
        import_spec = importlib.util.spec_from_file_location(unique, file)
        if import_spec is None or import_spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(import_spec)
        sys.modules[unique] = module
        sys.path.insert(0, str(spec.code_dir))
        try:
            import_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(spec.code_dir))
        handler = getattr(module, attribute)
        self._handlers[spec.name] = handler
        return handler

    @contextmanager
    def _environment(self, spec: FunctionSpec) -> Iterator[None]:
        overlay = {
            **self.base_environment,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "_HANDLER": spec.handler,
        }
        with function_environment(overlay):
            yield


class _ThreadEnviron(os._Environ[str]):
    """``os.environ``, as seen through the environment of the function running in the calling thread.

    A function's variables were once set in the process's environment and popped afterwards: another
    thread iterating ``os.environ`` meanwhile (requests' proxy lookup, in a test or in moto's Step
    Functions runner) then met a key that was gone (KeyError), or built a client with the running
    function's endpoint and credentials. Now a function's variables live in its own thread only: reads
    there see them over the process's, writes there stay in them, and no other thread sees either.

    Unlike a Lambda sandbox, threads or subprocesses a function starts itself, ``os.environb`` and C-level
    ``getenv`` see the process's environment only, and a write made at import lasts one invocation. No
    function does any of these today."""

    def _overlay(self) -> dict[str, str | None] | None:
        return getattr(_invocation, "environment", None)

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            super().__setitem__(key, value)
            return
        # os.environ's own str checks, as a write to the process's environment runs them
        self.encodekey(key)
        self.encodevalue(value)
        overlay[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = None

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay()
        keys = [self.decodekey(key) for key in list(self._data)]  # type: ignore[attr-defined]  # list() of a dict is atomic
        if overlay is None:
            yield from keys
            return
        known = set(keys)
        added = [key for key in overlay if key not in known]
        yield from (key for key in [*keys, *added] if overlay.get(key, "") is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"environ({dict(self.items())!r})"

    def copy(self) -> dict[str, str]:
        return dict(self.items())


_invocation = threading.local()


@contextmanager
def function_environment(variables: dict[str, str]) -> Iterator[None]:
    """Make ``variables`` the calling thread's view of ``os.environ`` over the process's, until the end."""
    if not isinstance(os.environ, _ThreadEnviron):
        os.environ.__class__ = _ThreadEnviron
    outer = getattr(_invocation, "environment", None)
    _invocation.environment = dict(variables)
    try:
        yield
    finally:
        _invocation.environment = outer


# IAM authorizes a transaction by the actions of its parts.
_TRANSACTION_PARTS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                      "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def record_actions(runtime: FunctionRuntime) -> None:
    """Note every AWS action a function's code calls, from the function's own thread only."""
    from botocore.client import BaseClient

    if not PATCHES.first("botocore: record actions"):
        return
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        running = runtime._running
        if running is not None and running[1] == threading.get_ident():
            model = self.meta.service_model
            prefix = model.signing_name or model.endpoint_prefix
            if operation_name in ("TransactWriteItems", "TransactGetItems"):
                names = {_TRANSACTION_PARTS[kind] for item in api_params.get("TransactItems", []) for kind in item}
            else:
                names = {operation_name}
            runtime.actions.setdefault(running[0].logical_id, set()).update(f"{prefix}:{n}" for n in names)
            answer = original(self, operation_name, api_params)
            fault = runtime.faults.get(running[0].logical_id)
            if fault is not None:
                fault(operation_name)
            return answer
        return original(self, operation_name, api_params)

    PATCHES.replace(BaseClient, "_make_api_call", _make_api_call)


def patch_moto_lambda(runtime: FunctionRuntime) -> None:
    """Replace moto's Docker-based execution with a call into ``runtime``."""
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if isinstance(event, str):
            event = json.loads(event or "{}")
        result = runtime.invoke(self.function_name, event if event is not None else {})
        if result.failed:
            return json.dumps(result.error), True, ""
        return json.dumps(result.payload), False, ""

    if PATCHES.first("moto: lambda runs in-process"):
        PATCHES.replace(LambdaFunction, "_invoke_lambda", _invoke_lambda)
