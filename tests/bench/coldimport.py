"""Cold imports of the Lambda functions, in fresh interpreters, in a Lambda-like environment: what
bench_foundation.py and bench_imports.py share. Not a benchmark on its own.

"Lambda-like" here means, for each function in template.yaml:

- Code where Lambda puts it: the function's CodeUri is copied to ``<tmp>/var/task`` and the layer's
  ContentUri to ``<tmp>/opt/python`` (``PYTHONPATH`` = those two, in Lambda's order), without any
  ``__pycache__``, and with ``PYTHONDONTWRITEBYTECODE=1``: project code is compiled at every cold
  start, as on Lambda's read-only ``/var/task`` and ``/opt`` after a plain ``sam build`` (SAM ships
  sources, not .pyc). ``make build`` adds hash-checked .pyc files; ``precompiled`` measures that.
  Dependencies load the .pyc files pip wrote into this venv, as from a layer ``make build`` compiled
  (a plain ``sam build`` unpacks their wheels uncompiled, so they too compile at every cold start:
  not modelled here).
- Only what a deployed function can import: the distributions that layers/core/requirements.txt
  pulls in (with their extras and dependencies), plus what the Python runtime bundles (boto3 and
  its dependencies). Everything else this venv holds for development and tests (moto, localstripe,
  aiohttp, pyOpenSSL, awscrt, ...) is hidden by a meta-path finder installed before the timed
  import. This matters: botocore imports ``awscrt`` and urllib3 ``OpenSSL`` when they are present,
  which adds about a third to a bare ``import boto3`` here, and X-Ray's patching imports every
  library it knows that is installed.
- The environment Lambda gives the function: template.yaml's Globals and the function's own
  variables, resolved with the template's parameter defaults and stand-ins for the resources
  (a name, a queue URL or an ARN, as the local cloud would create them; see ``StandIns``); the
  variables Lambda defines itself (``AWS_LAMBDA_FUNCTION_NAME``, ``LAMBDA_TASK_ROOT``,
  ``AWS_EXECUTION_ENV``, fake credentials, and ``AWS_XRAY_*`` when ``Tracing: Active``); and
  nothing inherited from this shell. Unlike the local cloud, ``POWERTOOLS_TRACE_DISABLED`` and
  ``AWS_ENDPOINT_URL`` are not set: on AWS the tracer is live and clients talk to AWS.
- What is timed: ``__import__(<handler module>)`` (and reading the handler attribute),
  ``time.perf_counter`` around it, inside a fresh interpreter; not the interpreter's start.

Differences that remain: this venv's Python (3.11 here; Lambda runs 3.12 on arm64), this machine's
disk cache and CPU, and no Lambda runtime interface client around the import.
"""

from __future__ import annotations

import compileall
import json
import py_compile
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
for _entry in (REPO / "infra", REPO / "layers" / "core"):
    if str(_entry) not in sys.path:  # also runnable without PYTHONPATH
        sys.path.insert(0, str(_entry))

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "wrapper-bench"
# What the Python runtime bundles, beside the layer (the SDK and what it needs).
RUNTIME_PACKAGES = ("boto3",)

# Runs in a fresh interpreter: hide the packages a deployed function would not have, then time
# the import of one module (the handler's, or boto3 for the baseline); not the interpreter's start.
_CHILD = """\
import importlib.abc, json, sys, time
module_name, attribute, hidden = sys.argv[1], sys.argv[2], frozenset(json.loads(sys.argv[3]))

class NotInTheLambdaPackage(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None

sys.meta_path.insert(0, NotInTheLambdaPackage())
started = time.perf_counter()
__import__(module_name)  # the import statement's path, which -X importtime reports (import_module's is not)
if attribute:
    getattr(sys.modules[module_name], attribute)
elapsed_ms = (time.perf_counter() - started) * 1000
print(f"IMPORT_MS={elapsed_ms:.3f}")
"""
_IMPORT_MS = re.compile(r"^IMPORT_MS=([0-9.]+)$", re.MULTILINE)
_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def r3(value: float) -> float:
    return round(value, 3)


# ------------------------------------------------------------------------------- the functions
@dataclass(frozen=True)
class LambdaFunction:
    logical_id: str
    code_dir: Path
    module: str
    attribute: str
    environment: dict[str, str]  # template.yaml's variables, resolved with stand-ins
    memory: int
    tracing: bool

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.attribute}"


class StandIns:
    """What a ``Ref`` or ``GetAtt`` to a resource gives, without creating it: the shape the local
    cloud's resource would have (a queue's URL, a user pool's id, an ARN), with made-up names."""

    def __init__(self, resources: dict[str, dict[str, Any]]) -> None:
        self.types = {logical_id: resource["Type"] for logical_id, resource in resources.items()}

    def ref(self, logical_id: str) -> str:
        name = f"{STACK_NAME}-{logical_id}"
        kind = self.types.get(logical_id, "")
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
        if kind == "AWS::Cognito::UserPool":
            return f"{REGION}_bench0000"
        if kind == "AWS::Cognito::UserPoolClient":
            return "benchclient0000000000000000"
        return name

    def attribute(self, logical_id: str, attribute: str) -> str:
        service = self.types.get(logical_id, "AWS::Unknown::Thing").split("::")[1].lower()
        if service == "iam":
            return f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-{logical_id}"
        kind = {"dynamodb": "table/", "sqs": "", "events": "event-bus/"}.get(service, f"{service}/")
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{kind}{STACK_NAME}-{logical_id}"


def lambda_functions() -> list[LambdaFunction]:
    """Every function template.yaml declares, with its handler and its resolved environment."""
    from localcloud.intrinsics import Context, resolve
    from localcloud.template import translate

    translated = translate(REPO / "template.yaml")
    stand_ins = StandIns(translated.resources)

    class _Context(Context):
        def ref(self, name: str) -> Any:
            return stand_ins.ref(name) if name in stand_ins.types else super().ref(name)

        def get_att(self, name: str, attribute: str) -> Any:
            return stand_ins.attribute(name, attribute)

    cfn = translated.cfn
    context = _Context(
        parameters={name: spec.get("Default", "") for name, spec in cfn.get("Parameters", {}).items()},
        pseudo={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": STACK_NAME,
                "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"},
        mappings=cfn.get("Mappings", {}), condition_defs=cfn.get("Conditions", {}))
    functions = []
    for logical_id, resource in translated.resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        module_path, _, attribute = properties["Handler"].rpartition(".")
        variables = resolve(properties.get("Environment", {}).get("Variables", {}), context)
        functions.append(LambdaFunction(
            logical_id=logical_id, code_dir=translated.code_paths[logical_id], module=module_path,
            attribute=attribute, environment={k: str(v) for k, v in variables.items()},
            memory=int(properties.get("MemorySize", 128)),
            tracing=properties.get("TracingConfig", {}).get("Mode") == "Active"))
    return sorted(functions, key=lambda f: f.logical_id)


# ---------------------------------------------------------------- what a deployed function has
def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lambda_distributions() -> set[str]:
    """The distributions a deployed function can import: the layer's requirements and the runtime's
    SDK, with their dependencies (extras followed), as installed in this venv."""
    from packaging.requirements import Requirement

    lines = (REPO / "layers" / "core" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pending = [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]
    pending += [Requirement(name) for name in RUNTIME_PACKAGES]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement = pending.pop()
        key = (_normalized(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            dependency = Requirement(text)
            extras = requirement.extras or {""}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                pending.append(dependency)
    return {name for name, _extras in seen}


def hidden_packages() -> list[str]:
    """Top-level import names installed in this venv that a deployed function would not find (the layer's
    own packages stay visible even when this project is installed into the venv, editable or not)."""
    allowed = lambda_distributions()
    provided = metadata.packages_distributions()
    keep = {name for name, dists in provided.items() if any(_normalized(d) in allowed for d in dists)}
    keep |= {path.stem for path in (REPO / "layers" / "core").iterdir()}
    return sorted(name for name, dists in provided.items()
                  if name not in keep and name not in sys.stdlib_module_names and name.isidentifier())


# ------------------------------------------------------------------------------ the environment
@contextmanager
def lambda_package(functions: list[LambdaFunction], *, precompiled: bool = False) -> Iterator[dict[str, Path]]:
    """Each function's code in ``<tmp>/functions/<id>/var/task`` and the layer in ``<tmp>/opt/python``,
    without .pyc files (or, ``precompiled``, with this interpreter's hash-checked .pyc beside every
    module, as ``make build`` ships them); answers each function's task directory (the layer
    is found from it, see ``layer_dir``)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    with tempfile.TemporaryDirectory(prefix="wrapper-lambda-") as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "layers" / "core", root / "opt" / "python", ignore=ignore)
        tasks: dict[str, Path] = {}
        for function in functions:
            task = root / "functions" / function.logical_id / "var" / "task"
            shutil.copytree(function.code_dir, task, ignore=ignore)
            tasks[function.logical_id] = task
        if precompiled:  # as `make build` does (hash-checked: SAM's zips date every file 1980)
            compileall.compile_dir(root, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        yield tasks


def layer_dir(task_dir: Path) -> Path:
    return task_dir.parents[3] / "opt" / "python"


def child_environment(function: LambdaFunction, task_dir: Path) -> dict[str, str]:
    """What Lambda gives the function's process (see the module's docstring); nothing inherited."""
    log_group = f"/aws/lambda/{STACK_NAME}-{function.logical_id}"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": f"{task_dir}:{layer_dir(task_dir)}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_dir),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": f"{STACK_NAME}-{function.logical_id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        **function.environment,
    }
    if function.tracing:
        env.update({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                    "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129", "_AWS_XRAY_DAEMON_PORT": "2000"})
    return env


# ----------------------------------------------------------------------------------- measuring
def import_ms(module: str, attribute: str, *, env: dict[str, str], cwd: Path, hidden: list[str]) -> float:
    """One cold import of ``module`` in a fresh interpreter, in milliseconds."""
    done = subprocess.run([sys.executable, "-c", _CHILD, module, attribute, json.dumps(hidden)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)
    match = _IMPORT_MS.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"importing {module} failed:\n{done.stderr[-3000:]}")
    return float(match.group(1))


def median(values: list[float]) -> float:
    return r3(statistics.median(values))


def import_profile(function: LambdaFunction, task_dir: Path, hidden: list[str], top: int = 6,
                   imported_first: str | None = None) -> dict[str, Any]:
    """`python -X importtime` of one function's handler module: its heaviest direct imports
    (cumulative) and the top-level packages that cost the most in total (self time summed). With
    ``imported_first`` (say ``boto3``), that module is imported before, untimed: the profile is then
    what the handler module adds to it."""
    code = _CHILD
    if imported_first:
        started = "started = time.perf_counter()"
        code = code.replace(started, f"__import__({imported_first!r})\n{started}")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code, function.module, function.attribute,
                           json.dumps(hidden)], env=child_environment(function, task_dir), cwd=task_dir,
                          capture_output=True, text=True, timeout=120, check=False)
    rows = [(int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4))
            for m in map(_IMPORTTIME.match, done.stderr.splitlines()) if m]
    # importtime prints children before their parent; the handler module is the last depth-0 row.
    handler_index = max(i for i, row in enumerate(rows) if row[2] == 0 and row[3] == function.module)
    start = max((i for i, row in enumerate(rows[:handler_index]) if row[2] == 0), default=-1) + 1
    direct = [row for row in rows[start:handler_index] if row[2] == 1]
    by_package: Counter[str] = Counter()
    for self_us, _cumulative, _depth, name in rows[start:handler_index + 1]:
        by_package[name.split(".", 1)[0]] += self_us
    return {
        "function": function.logical_id,
        **({"imported_first": imported_first} if imported_first else {}),
        "handler_module_cumulative_ms": r3(rows[handler_index][1] / 1000),
        "top_direct_imports_cumulative_ms": {name: r3(cum / 1000)
                                             for _s, cum, _d, name in sorted(direct, key=lambda r: -r[1])[:top]},
        "top_packages_self_ms": {name: r3(us / 1000) for name, us in by_package.most_common(top)},
    }
