"""Rules of the layer's shape that import-linter cannot state (its contracts run in `make lint`)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[2] / "layers" / "core" / "wrapper"


def _imports_client_error(path: Path) -> bool:
    """``from botocore.exceptions import ClientError``, or botocore's exceptions module by any other import."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "botocore.exceptions":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "botocore" \
                and any(alias.name == "exceptions" for alias in node.names):
            return True
        if isinstance(node, ast.Import) and any(alias.name == "botocore.exceptions" for alias in node.names):
            return True
    return False


def test_client_error_is_caught_only_in_the_store_package() -> None:
    # Given every module of the layer
    modules = [p for p in WRAPPER.rglob("*.py") if (WRAPPER / "store") not in p.parents]

    # When each one's imports are read
    offenders = sorted(str(p.relative_to(WRAPPER)) for p in modules if _imports_client_error(p))

    # Then none but the store knows botocore's errors (Cognito's adapter catches its client's modeled ones)
    assert offenders == []


def test_no_module_of_the_layer_is_over_400_lines() -> None:
    # Given / When every module's length is counted
    long = {str(p.relative_to(WRAPPER)): n for p in WRAPPER.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}

    # Then none is over 400: split a module by job before it grows past that
    assert long == {}


def test_no_key_is_spelled_outside_the_schema_module() -> None:
    # Given every module of the layer, the functions and the local cloud
    repo = WRAPPER.parents[2]
    allowed = {WRAPPER / "store" / "schema.py",
               WRAPPER / "kernel" / "tenant.py"}  # TENANT#: the isolation rule the schema builds on
    modules = [p for root in (WRAPPER, repo / "functions", repo / "infra" / "localcloud") for p in root.rglob("*.py")
               if p not in allowed]

    # When their string literals (docstrings aside) are read
    spelled = [f"{p.relative_to(repo)}:{line}: {value!r}" for p in modules for line, value in _literals(p)
               if _spells_a_key(value)]

    # Then none spells a key or a key's prefix: wrapper.store.schema builds them all
    assert spelled == []


TESTS = Path(__file__).resolve().parents[1]
# Test modules that may spell keys, and why.
KEYS_SPELLED_ON_PURPOSE = {
    TESTS / "unit" / "test_store_schema.py": "the schema's own tests: they spell each key to hold a builder to it",
}


def test_no_test_spells_a_key_either() -> None:
    # Given every module under tests/ (helpers, fixtures and benchmarks too), less the schema's own tests
    repo = TESTS.parent
    modules = [p for p in TESTS.rglob("*.py") if p not in KEYS_SPELLED_ON_PURPOSE]

    # When their string literals (docstrings aside) are read
    spelled = [f"{p.relative_to(repo)}:{line}: {value!r}" for p in modules for line, value in _literals(p)
               if _spells_a_key(value)]

    # Then none spells a key or a key's prefix: tests build keys with wrapper.store.schema as the code does
    assert spelled == []
    # And every exception is still needed: a module moved onto the schema leaves its list
    assert [p.name for p in sorted(KEYS_SPELLED_ON_PURPOSE)
            if not any(_spells_a_key(value) for _, value in _literals(p))] == []


def _spells_a_key(value: str) -> bool:
    """A key's prefix (``WORD#...``), or one of the schema's bare key words (``PROFILE``, ``BILLING``, ...)."""
    return bool(_KEY_PREFIX.match(value)) or value in _bare_key_words()


_KEY_PREFIX = re.compile(r"^[A-Z][A-Z0-9]*#")


@cache
def _bare_key_words() -> frozenset[str]:
    import wrapper.store.schema as schema

    return frozenset(v for k, v in vars(schema).items() if k.isupper() and isinstance(v, str) and "#" not in v)


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_test_module_imports_another() -> None:
    # Given every module under tests/
    modules = list(TESTS.rglob("*.py"))

    # When their imports are read
    crossing = sorted(f"{p.relative_to(TESTS.parent)} imports {name}" for p in modules
                      for name in _imported_modules(p) if name.startswith("tests.")
                      and name.split(".")[-1].startswith("test_"))

    # Then shared flows and fakes come from helper modules (support, flows, fakes, builders), never a test file
    assert crossing == []


def _imported_modules(path: Path) -> list[str]:
    """Every module an import names: ``import a.b``, ``from a.b import c`` (c may be a module too)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def test_every_model_of_the_layer_but_the_settings_defers_its_build() -> None:
    # Given every module of the layer, imported
    import importlib
    import inspect

    from pydantic import BaseModel

    names = [".".join(p.relative_to(WRAPPER.parent).with_suffix("").parts) for p in WRAPPER.rglob("*.py")]
    modules = [importlib.import_module(name.removesuffix(".__init__")) for name in names]

    # When the Pydantic models they define are gathered
    models = {cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
              if issubclass(cls, BaseModel) and cls.__module__ == module.__name__}

    # Then each builds on its first use, not at a cold start (wrapper.kernel.model), but the
    # settings, which are read at import anyway
    eager = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in models
                   if not cls.model_config.get("defer_build") and cls.__module__ != "wrapper.settings")
    assert eager == []
    assert len(models) > 50
