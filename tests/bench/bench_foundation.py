"""Foundation benchmark: cold import per function, GET /v1/health over HTTP and in-process, AWS calls
per health check. Prints one JSON document to stdout; logs go to stderr.

    PYTHONPATH=layers/core:infra .venv/bin/python tests/bench/bench_foundation.py   # or: make bench

Not part of `make test`. Absolute timings depend on the machine; compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import logging
import os
import platform
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import coldimport

REPO = Path(__file__).resolve().parents[2]
for _entry in (REPO / "infra", REPO / "layers" / "core"):
    if str(_entry) not in sys.path:  # also runnable without PYTHONPATH
        sys.path.insert(0, str(_entry))

log = logging.getLogger("bench")

HEALTH_LOGICAL_ID = "HealthFunction"
HEALTH_PATH = "/v1/health"

# ---------------------------------------------------------------------------------------- helpers
def _r(value: float) -> float:
    return round(value, 3)


def summarize(samples_ms: list[float], wall_s: float) -> dict[str, Any]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "n": len(samples_ms),
        "p50_ms": _r(q[49]),
        "p90_ms": _r(q[89]),
        "p99_ms": _r(q[98]),
        "mean_ms": _r(statistics.fmean(samples_ms)),
        "min_ms": _r(min(samples_ms)),
        "max_ms": _r(max(samples_ms)),
        "requests_per_s": _r(len(samples_ms) / wall_s),
    }


# ------------------------------------------------------------------------------------ cold import
def cold_imports(runs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each function's cold import (median, min, max over ``runs``; the paired comparison with a bare
    ``import boto3`` is bench_imports.py's), and the health function's import profile."""
    results: dict[str, Any] = {}
    functions = coldimport.lambda_functions()
    hidden = coldimport.hidden_packages()
    with coldimport.lambda_package(functions) as tasks:
        for function in functions:
            task = tasks[function.logical_id]
            env = coldimport.child_environment(function, task)
            imports = [coldimport.import_ms(function.module, function.attribute, env=env, cwd=task, hidden=hidden)
                       for _ in range(runs)]
            results[function.logical_id] = {
                "handler": function.handler,
                "runs": runs,
                "median_ms": coldimport.median(imports),
                "min_ms": _r(min(imports)),
                "max_ms": _r(max(imports)),
            }
            log.info("cold import %s: median %.1f ms", function.logical_id, results[function.logical_id]["median_ms"])
        health = next(f for f in functions if f.logical_id == HEALTH_LOGICAL_ID)
        profile = coldimport.import_profile(health, tasks[health.logical_id], hidden, top=5)
    return results, profile


# ------------------------------------------------------------------------------------ health runs
def time_interleaved(calls: dict[str, Callable[[], None]], n: int, warmup: int) -> dict[str, dict[str, Any]]:
    """Warm each path up, then time them alternately (A, B, A, B, ...) so that drift on a busy
    machine affects every path alike. requests/s is sequential: n over the summed latencies."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(n):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: summarize(values, sum(values) / 1000) for name, values in samples.items()}


class HttpHealth:
    """GET /v1/health over one persistent http.client connection (reopened if the server closes it)."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.reconnects = 0
        self.statuses: Counter[int] = Counter()

    def __call__(self) -> None:
        self.connection.request("GET", HEALTH_PATH, headers={"Accept": "application/json"})
        response = self.connection.getresponse()
        response.read()
        self.statuses[response.status] += 1
        if response.will_close:
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.reconnects += 1

    def close(self) -> None:
        self.connection.close()


class InProcessHealth:
    def __init__(self, cloud: Any, event: dict[str, Any]) -> None:
        self.runtime = cloud.runtime
        self.name = cloud.stack.function_by_logical_id(HEALTH_LOGICAL_ID).name
        self.event = event
        self.statuses: Counter[int] = Counter()
        self.failures = 0

    def __call__(self) -> None:
        result = self.runtime.invoke(self.name, copy.deepcopy(self.event))
        if result.failed:
            self.failures += 1
        else:
            self.statuses[int(result.payload.get("statusCode", 0))] += 1


def health_event() -> dict[str, Any]:
    sample = REPO / "events" / "health" / "get-health.json"
    if sample.exists():
        event: dict[str, Any] = json.loads(sample.read_text(encoding="utf-8"))
        return event
    return {
        "resource": HEALTH_PATH, "path": HEALTH_PATH, "httpMethod": "GET",
        "headers": {"Accept": "application/json"}, "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": HEALTH_PATH, "httpMethod": "GET", "path": f"/local{HEALTH_PATH}",
                           "stage": "local", "requestId": "bench", "accountId": "123456789012",
                           "identity": {"sourceIp": "127.0.0.1"}},
    }


# ------------------------------------------------------------------------------- AWS call counting
class AwsCallCounter:
    """Counts botocore API calls (Endpoint.make_request, one per operation whatever the retries) and
    wire attempts (Endpoint._send) made while the watched function runs. The local cloud's own pollers
    ("esm-*" threads) keep calling SQS and DynamoDB Streams meanwhile; their calls are left out."""

    def __init__(self, runtime: Any, function_name: str) -> None:
        self.runtime = runtime
        self.function_name = function_name
        self.calls: Counter[str] = Counter()
        self.attempts = 0
        self.off_thread = 0
        self._active: set[int] = set()
        self._lock = threading.Lock()

    def _counting(self) -> bool:
        return bool(self._active) and not threading.current_thread().name.startswith("esm-")

    @contextmanager
    def installed(self) -> Iterator[AwsCallCounter]:
        from botocore.endpoint import Endpoint as _Endpoint

        endpoint_cls: Any = _Endpoint  # patched at class level: reaches every client in the process
        counter = self
        original_make_request = endpoint_cls.make_request
        original_send = endpoint_cls._send
        original_invoke = self.runtime.invoke

        def make_request(endpoint: Any, operation_model: Any, request_dict: Any) -> Any:
            if counter._counting():
                with counter._lock:
                    counter.calls[f"{operation_model.service_model.service_name}:{operation_model.name}"] += 1
                    if threading.get_ident() not in counter._active:
                        counter.off_thread += 1
            return original_make_request(endpoint, operation_model, request_dict)

        def send(endpoint: Any, request: Any) -> Any:
            if counter._counting():
                with counter._lock:
                    counter.attempts += 1
            return original_send(endpoint, request)

        def invoke(name_or_arn: str, event: Any) -> Any:
            watched = self.runtime.spec(name_or_arn).name == counter.function_name
            if watched:
                with counter._lock:
                    counter._active.add(threading.get_ident())
            try:
                return original_invoke(name_or_arn, event)
            finally:
                if watched:
                    with counter._lock:
                        counter._active.discard(threading.get_ident())

        endpoint_cls.make_request = make_request
        endpoint_cls._send = send
        self.runtime.invoke = invoke  # the API front looks it up on the instance at each request
        try:
            yield self
        finally:
            endpoint_cls.make_request = original_make_request
            endpoint_cls._send = original_send
            del self.runtime.invoke

    def measure(self, call: Callable[[], None], n: int) -> dict[str, Any]:
        with self._lock:
            self.calls.clear()
            self.attempts = self.off_thread = 0
        for _ in range(n):
            call()
        total = sum(self.calls.values())
        return {"health_calls": n, "api_calls_per_health": _r(total / n),
                "http_attempts_per_health": _r(self.attempts / n),
                "by_operation_per_health": {op: _r(c / n) for op, c in sorted(self.calls.items())},
                "calls_off_invoking_thread": self.off_thread}


# ------------------------------------------------------------------------------------------- main
def machine() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "cpus_usable": affinity}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from localcloud.server import LocalCloud, LocalCloudConfig

    began = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "foundation", "machine": machine()}

    log.info("cold imports: %d fresh interpreters per function", args.runs)
    result["cold_import_ms"], result["cold_import_profile"] = cold_imports(args.runs)
    result["cold_import_method"] = {
        "measure": "time.perf_counter around __import__(<handler module>) in a fresh interpreter "
                   "(sys.executable); median, min and max over the runs",
        "runs": args.runs,
        "environment": "Lambda-like, see tests/bench/coldimport.py: template environment with stand-ins, "
                       "Lambda's own variables, tracer live, project code compiled at each start (no .pyc), "
                       "packages outside the layer and the runtime's SDK hidden",
    }

    log.info("starting the local cloud")
    started = time.perf_counter()
    cloud = LocalCloud(LocalCloudConfig(api_port=0, aws_port=0)).start()
    result["local_cloud_start_s"] = _r(time.perf_counter() - started)
    try:
        http_health = HttpHealth(cloud.api_url)
        try:
            in_process = InProcessHealth(cloud, health_event())
            log.info("health over HTTP and in-process, interleaved: %d each after %d warm-up",
                     args.requests, args.warmup)
            timed = time_interleaved({"http": http_health, "in_process": in_process}, args.requests, args.warmup)
            result["health_http"] = {
                "client": "http.client.HTTPConnection, persistent (keep-alive) connection requested; "
                          "reopened whenever the server answers Connection: close (see reconnects)",
                **timed["http"],
                "reconnects": http_health.reconnects,
                "statuses": {str(k): v for k, v in sorted(http_health.statuses.items())},
            }
            result["health_in_process"] = {
                "call": "cloud.runtime.invoke(<HealthFunction>, events/health/get-health.json)",
                **timed["in_process"],
                "failures": in_process.failures,
                "statuses": {str(k): v for k, v in sorted(in_process.statuses.items())},
            }
            log.info("counting AWS calls per health check")
            with AwsCallCounter(cloud.runtime, in_process.name).installed() as counter:
                single = counter.measure(in_process, 1)
                result["aws_calls_per_health"] = {
                    "count": single["api_calls_per_health"],
                    "by_operation": single["by_operation_per_health"],
                    "http_attempts": single["http_attempts_per_health"],
                    "method": "botocore.endpoint.Endpoint.make_request hooked while HealthFunction runs "
                              "(local-cloud poller threads excluded)",
                    "mean_over_http": counter.measure(http_health, args.count_calls),
                    "mean_in_process": counter.measure(in_process, args.count_calls),
                }
        finally:
            http_health.close()
    finally:
        log.info("stopping the local cloud")
        cloud.stop()

    http_figures, local_figures = result["health_http"], result["health_in_process"]
    result["ratios"] = {
        "http_p50_over_in_process_p50": _r(http_figures["p50_ms"] / local_figures["p50_ms"]),
        "http_p99_over_in_process_p99": _r(http_figures["p99_ms"] / local_figures["p99_ms"]),
        "http_mean_over_in_process_mean": _r(http_figures["mean_ms"] / local_figures["mean_ms"]),
    }
    result["total_runtime_s"] = _r(time.perf_counter() - began)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="timed health calls per path (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first (default 20)")
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per function (default 5)")
    parser.add_argument("--count-calls", type=int, default=5, help="health calls averaged for AWS call counts")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.chdir(REPO)
    report_json(lambda: run(args))
    return 0


def report_json(produce: Callable[[], dict[str, Any]]) -> None:
    """Print the document ``produce()`` answers, alone on stdout: everything else that writes to file
    descriptor 1 meanwhile (Powertools loggers and metrics in the functions, moto) is sent to stderr."""
    sys.stdout.flush()
    report = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        result = produce()
    finally:
        sys.stdout.flush()
    json.dump(result, report, indent=2)
    report.write("\n")
    report.close()


if __name__ == "__main__":
    sys.exit(main())
