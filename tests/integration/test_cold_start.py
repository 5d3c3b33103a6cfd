"""What a function's cold start does (issue #10), in a fresh interpreter as Lambda starts one, with the
tracer live: no AWS client is built before a request needs it, the Stripe SDK and pydantic-settings are
not loaded, and X-Ray patches the AWS SDK (and Stripe's HTTP library where Stripe is called), not every
library it knows. How long it takes is a benchmark's business (tests/bench/bench_imports.py), never a
test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.template import translate
from tests.support import REPO

# Runs in the fresh interpreter: counts the boto3 clients built while the handler module is imported.
_CHILD = """\
import importlib, json, sys
import botocore.session

built = []
create_client = botocore.session.Session.create_client

def counting(self, service_name, *args, **kwargs):
    built.append(service_name)
    return create_client(self, service_name, *args, **kwargs)

botocore.session.Session.create_client = counting
module = importlib.import_module(sys.argv[1])
assert callable(getattr(module, sys.argv[2]))
patcher = sys.modules.get("aws_xray_sdk.core.patcher")
print(json.dumps({
    "clients_built": built,
    "loaded": sorted(name for name in ("stripe", "pydantic_settings") if name in sys.modules),
    "xray_patched": sorted(patcher._PATCHED_MODULES) if patcher else None,
}))
"""


def _functions() -> list[tuple[str, Path, str, str]]:
    resources = translate(REPO / "template.yaml")
    found = []
    for logical_id, resource in sorted(resources.resources.items()):
        if resource["Type"] == "AWS::Lambda::Function":
            module, _, attribute = resource["Properties"]["Handler"].rpartition(".")
            found.append((logical_id, resources.code_paths[logical_id], module, attribute))
    return found


FUNCTIONS = _functions()


def _cold_start(code_dir: Path, module: str, attribute: str) -> dict[str, Any]:
    # What Lambda gives every function (tracing on: LAMBDA_TASK_ROOT set, no POWERTOOLS_TRACE_DISABLED);
    # the template's own variables have working defaults in Settings, the user pool's excepted.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON", "MOTO_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(code_dir), str(REPO / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "AWS_LAMBDA_FUNCTION_NAME": "cold-start-test",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "USER_POOL_ID": "us-east-1_coldstart", "USER_POOL_CLIENT_ID": "coldstart-client",
    })
    done = subprocess.run([sys.executable, "-c", _CHILD, module, attribute], env=env, cwd=code_dir,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.parametrize(("logical_id", "code_dir", "module", "attribute"), FUNCTIONS,
                         ids=[f[0] for f in FUNCTIONS])
def test_a_cold_start_builds_no_client_and_loads_neither_stripe_nor_pydantic_settings(
        logical_id: str, code_dir: Path, module: str, attribute: str) -> None:
    # When the function's handler module is imported, as at a cold start
    started = _cold_start(code_dir, module, attribute)

    # Then no AWS client was built yet: each is built on the first call that needs it
    assert started["clients_built"] == [], logical_id
    # And the Stripe SDK waits for the first payment call, and settings need no pydantic-settings
    assert started["loaded"] == [], logical_id
    # And the tracer patched the AWS SDK (and, where Stripe is called, the HTTP library its SDK uses), not
    # every library X-Ray knows; the authorizer has no tracer
    if logical_id == "AuthorizerFunction":
        assert started["xray_patched"] is None
    else:
        assert "botocore" in started["xray_patched"], logical_id
        assert set(started["xray_patched"]) <= {"botocore", "requests"}, logical_id
