"""Cold-import benchmark (issue #10): each function's handler module against a bare `import boto3`.

For every function in template.yaml, in fresh interpreters and in a Lambda-like environment (what
that means here: tests/bench/coldimport.py's docstring; in short, the function's template
environment with stand-ins for resources, AWS_LAMBDA_FUNCTION_NAME and the other variables Lambda
sets, the tracer live, project code compiled at every start, and the packages this venv has but a
deployed function would not have, awscrt among them, hidden), time the import of the handler module,
paired with a bare `import boto3` in the same environment: each run times both, in alternating
order, so drift on a busy machine touches both alike. Prints one JSON document:

    ratio = median handler import / median boto3 import, over the function's runs;
    target: 1.2 for the authorizer and usage functions, 1.5 for the others (issue #10).

    PYTHONPATH=layers/core:infra .venv/bin/python tests/bench/bench_imports.py > imports.json   # or: make bench
    .venv/bin/python tests/bench/bench_imports.py --runs 11 --only AuthorizerFunction UsageFunction
    .venv/bin/python tests/bench/bench_imports.py --keep-venv-packages   # awscrt & co. importable, as in the venv
    .venv/bin/python tests/bench/bench_imports.py --precompiled          # project code with .pyc files, as `make build`

Not part of `make test`. Absolute timings depend on the machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import coldimport

log = logging.getLogger("bench")

# Issue #10: a handler's cold import at most this many times a bare `import boto3`.
TARGETS = {"AuthorizerFunction": 1.2, "UsageFunction": 1.2}
DEFAULT_TARGET = 1.5


def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    functions = [f for f in coldimport.lambda_functions() if not args.only or f.logical_id in args.only]
    hidden = [] if args.keep_venv_packages else coldimport.hidden_packages()
    samples: dict[str, dict[str, list[float]]] = {f.logical_id: {"handler": [], "boto3": []} for f in functions}
    with coldimport.lambda_package(functions, precompiled=args.precompiled) as tasks:
        for run_index in range(args.runs):
            log.info("run %d of %d", run_index + 1, args.runs)
            for function in functions:
                task = tasks[function.logical_id]
                env = coldimport.child_environment(function, task)
                pair = [("handler", function.module, function.attribute), ("boto3", "boto3", "")]
                if run_index % 2:
                    pair.reverse()
                for kind, module, attribute in pair:
                    samples[function.logical_id][kind].append(
                        coldimport.import_ms(module, attribute, env=env, cwd=task, hidden=hidden))
        results: dict[str, Any] = {}
        for function in functions:
            handler, boto3 = samples[function.logical_id]["handler"], samples[function.logical_id]["boto3"]
            ratio = coldimport.median(handler) / coldimport.median(boto3)
            target = TARGETS.get(function.logical_id, DEFAULT_TARGET)
            results[function.logical_id] = {
                "handler": function.handler,
                "import_median_ms": coldimport.median(handler),
                "boto3_median_ms": coldimport.median(boto3),
                "ratio": round(ratio, 2),
                "target": target,
                "pass": ratio <= target,
                "import_min_max_ms": [coldimport.r3(min(handler)), coldimport.r3(max(handler))],
            }
            log.info("%s: %.1f ms, boto3 %.1f ms, ratio %.2f (target %.1f)", function.logical_id,
                     results[function.logical_id]["import_median_ms"], results[function.logical_id]["boto3_median_ms"],
                     ratio, target)
        profiles = {}
        if args.profile:
            for function in functions:
                if args.profile == "all" or not results[function.logical_id]["pass"]:
                    profiles[function.logical_id] = coldimport.import_profile(
                        function, tasks[function.logical_id], hidden, top=8, imported_first="boto3")
    return {
        "benchmark": "imports",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"python": sys.version.split()[0], "cpus_usable": len(os.sched_getaffinity(0))
                    if hasattr(os, "sched_getaffinity") else os.cpu_count()},
        "method": {
            "runs": args.runs,
            "pairing": "each run imports the handler module and boto3 in fresh interpreters, alternating "
                       "which goes first; medians over the runs",
            "environment": "Lambda-like, see tests/bench/coldimport.py: template environment with stand-ins, "
                           "Lambda's own variables, tracer live, project code as project_code says, "
                           "packages outside the layer and the runtime's SDK hidden",
            "hidden_packages": len(hidden),
            "awscrt_hidden": "awscrt" in hidden,
            "project_code": ("precompiled (hash-checked .pyc shipped, as by `make build`)" if args.precompiled
                             else "compiled at each start (no .pyc)"),
        },
        "functions": results,
        "all_pass": all(result["pass"] for result in results.values()),
        "profiles": profiles,
        "total_runtime_s": coldimport.r3(time.perf_counter() - began),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11, help="paired runs per function (default 11)")
    parser.add_argument("--only", nargs="*", metavar="LOGICAL_ID", help="these functions only")
    parser.add_argument("--profile", choices=["failing", "all", ""], default="failing",
                        help="add a `python -X importtime` profile of failing functions (default), all, or none")
    parser.add_argument("--keep-venv-packages", action="store_true",
                        help="hide nothing: every package of this venv importable (awscrt and pyOpenSSL make boto3 "
                             "itself slower), to compare with figures taken that way")
    parser.add_argument("--precompiled", action="store_true",
                        help="ship hash-checked .pyc files with the project code, as `make build` does")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    json.dump(run(args), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
