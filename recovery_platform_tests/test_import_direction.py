"""Layers depend one way: engine, domain and sources never import dagster; domain and sources
reach the engine only through its package interface, never a concrete engine."""

import ast
from pathlib import Path

import pytest

import recovery_platform.engine as engine_package

PACKAGE = Path(__file__).resolve().parents[1] / "recovery_platform"
REPO = PACKAGE.parent
ENGINE = "recovery_platform.engine"
ENGINE_INTERFACE = {ENGINE, f"{ENGINE}.interface", f"{ENGINE}.values", f"{ENGINE}.errors"}
CONCRETE_ENGINES = ("deltalake", "pyspark", "delta")
"""delta-rs, Spark and delta-spark (`delta.tables`): only engine modules may import them."""


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every name a module imports, anywhere in it (functions and TYPE_CHECKING blocks too).

    `from a import b` yields `a` and, for our own packages, `a.b` (b may be a module).
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            if base.startswith("recovery_platform"):
                found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(), _module_name(path),
                            is_package=path.name == "__init__.py")


def _is(name: str, root: str) -> bool:
    return name == root or name.startswith(f"{root}.")


def _concrete_engine_module(name: str) -> str | None:
    """The engine module `name` reaches, if it is not part of the engine's interface.

    `recovery_platform.engine.X` is fine when X is exported by the package (`__all__`) or is
    one of the interface modules; anything else under the engine is a concrete engine.
    """
    if not name.startswith(f"{ENGINE}."):
        return None
    module = ".".join(name.split(".")[:3])
    if module in ENGINE_INTERFACE or module.rpartition(".")[2] in engine_package.__all__:
        return None
    return module


def _engine_violations(names: set[str]) -> set[str]:
    bad = {n for n in names if any(_is(n, root) for root in CONCRETE_ENGINES)}
    bad |= {m for m in map(_concrete_engine_module, names) if m is not None}
    return bad


@pytest.mark.parametrize("layer", ["engine", "domain", "sources"])
def test_lower_layers_never_import_dagster(layer: str) -> None:
    modules = _modules(layer)
    offending = {
        f"{path.relative_to(REPO)}: {name}"
        for path in modules
        for name in _imports_of(path)
        if _is(name, "dagster") or name.startswith("dagster_")
    }
    assert modules
    assert not offending


@pytest.mark.parametrize("layer", ["domain", "sources"])
def test_domain_and_sources_use_only_the_engine_interface(layer: str) -> None:
    offending = {
        f"{path.relative_to(REPO)}: {name}"
        for path in _modules(layer)
        for name in _engine_violations(_imports_of(path))
    }
    assert not offending


def test_the_checks_catch_every_way_of_importing() -> None:
    probe = (
        "from typing import TYPE_CHECKING\n"
        "from recovery_platform.engine import StorageEngine, RowCounts\n"
        "from recovery_platform.engine.values import CommitInfo\n"
        "from ..engine import deltars\n"
        "from ..engine.spark_session import build_spark_session\n"
        "if TYPE_CHECKING:\n    import dagster as dg\n"
        "def f():\n    from dagster_deltalake import LocalConfig\n"
        "    import pyspark.sql\n    from delta.tables import DeltaTable\n"
    )
    names = imported_modules(probe, "recovery_platform.domain.probe")
    assert {"dagster", "dagster_deltalake"} <= names
    assert _engine_violations(names) == {
        "recovery_platform.engine.deltars", "recovery_platform.engine.spark.session",
        "pyspark.sql", "delta.tables",
    }


def test_no_test_file_lives_outside_the_test_package() -> None:
    stray = []
    for path in REPO.rglob("*.py"):
        parts = path.relative_to(REPO).parts
        if parts[0] == "recovery_platform_tests" or any(p.startswith(".") for p in parts):
            continue
        if path.name.startswith("test_") or path.name.endswith("_test.py") or (
                path.name == "conftest.py"):
            stray.append(str(path.relative_to(REPO)))
    assert not stray
