"""Rules of the layer's shape that import-linter cannot state (its contracts run in `make lint`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[2] / "layers" / "core" / "wrapper"
# Cognito's adapter is a door to another AWS service, and translates that service's errors itself.
CLIENT_ERROR_ALLOWED = {WRAPPER / "identity" / "cognito.py"}


def _imports_client_error(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "botocore.exceptions" \
                and any(alias.name == "ClientError" for alias in node.names):
            return True
    return False


def test_client_error_is_caught_only_in_the_store_package() -> None:
    # Given every module of the layer
    modules = [p for p in WRAPPER.rglob("*.py") if (WRAPPER / "store") not in p.parents]

    # When each one's imports are read
    offenders = sorted(str(p.relative_to(WRAPPER)) for p in modules
                       if _imports_client_error(p) and p not in CLIENT_ERROR_ALLOWED)

    # Then none but the store (and Cognito's adapter) knows DynamoDB's errors
    assert offenders == []


def test_no_module_of_the_layer_is_over_400_lines() -> None:
    # Given / When every module's length is counted
    long = {str(p.relative_to(WRAPPER)): n for p in WRAPPER.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}

    # Then none is over 400: split a module by job before it grows past that
    assert long == {}


def test_no_key_is_spelled_outside_the_schema_module() -> None:
    # Given every module of the layer, the functions and the local cloud, and the schema's own key words
    import wrapper.store.schema as schema

    repo = WRAPPER.parents[2]
    bare = {v for k, v in vars(schema).items() if k.isupper() and isinstance(v, str) and "#" not in v}
    prefix = re.compile(r"^[A-Z][A-Z0-9]*#")
    allowed = {WRAPPER / "store" / "schema.py",
               WRAPPER / "kernel" / "tenant.py"}  # TENANT#: the isolation rule the schema builds on
    modules = [p for root in (WRAPPER, repo / "functions", repo / "infra" / "localcloud") for p in root.rglob("*.py")
               if p not in allowed]

    # When their string literals (docstrings aside) are read
    spelled = [f"{p.relative_to(repo)}:{line}: {value!r}" for p in modules for line, value in _literals(p)
               if prefix.match(value) or value in bare]

    # Then none spells a key or a key's prefix: wrapper.store.schema builds them all
    assert spelled == []


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]
