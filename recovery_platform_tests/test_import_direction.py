"""Import rules that keep the layout honest, checked by reading every import.

Layers depend one way: engine, domain and sources never import dagster; domain and sources
reach the engine only through its package interface; each engine's modules are its own (only
the place that builds engines reaches into them); no domain capability imports the Dagster
layer; the shared lakehouse plumbing imports no capability; and no module imports itself back
through others (type-checking imports included).
"""

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

import recovery_platform.engine as engine_package

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "recovery_platform"
TESTS = REPO / "recovery_platform_tests"
ENGINE = "recovery_platform.engine"
ENGINE_INTERFACE = {ENGINE, f"{ENGINE}.interface", f"{ENGINE}.values", f"{ENGINE}.errors",
                    f"{ENGINE}.retention_properties"}
"""The seam: its interface, values and errors, and how Delta's retention properties read."""
ENGINE_PACKAGES = (f"{ENGINE}.deltars", f"{ENGINE}.spark")
CONCRETE_ENGINES = ("deltalake", "pyspark", "delta")
"""delta-rs, Spark and delta-spark (`delta.tables`): only engine modules may import them."""
ENGINE_BUILDERS = {
    "recovery_platform/defs/resources.py",
    "recovery_platform_tests/engines.py",
    "recovery_platform_tests/spark_support.py",
    "recovery_platform_tests/defs/test_engine_selection.py",
}
"""Outside `engine/`, the only files that may reach inside an engine's package: the one place
that builds engines, the test fixtures that build them, and the test of engine selection."""
CAPABILITIES = ("sync", "checkpoints", "purge", "rollback", "maintenance")


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def _anchor(module: str, level: int, *, is_package: bool) -> str:
    package = module if is_package else module.rpartition(".")[0]
    parts = package.split(".")
    return ".".join(parts[: len(parts) - level + 1])


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every name a module imports, anywhere in it (functions and TYPE_CHECKING blocks too).

    `from a import b` yields `a` and, for our own packages, `a.b` (b may be a module).
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _anchor(module, node.level, is_package=is_package)
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            if base.startswith("recovery_platform"):
                found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def import_edges(
    source: str, module: str, known: set[str], *, is_package: bool = False
) -> set[str]:
    """The modules of ours that `module` depends on, one edge per imported module.

    `from pkg import name` depends on `pkg.name` when that is a module, else on `pkg`;
    `import a.b.c` depends on the longest known module of `a.b.c`.
    """
    edges: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _anchor(module, node.level, is_package=is_package)
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
    return edges


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


def _engine_internals(names: Iterable[str]) -> set[str]:
    """Names that reach a module inside an engine's package (the package itself is public)."""
    return {n for n in names for pkg in ENGINE_PACKAGES
            if n.startswith(f"{pkg}.") and n.rpartition(".")[2] not in _exports(pkg)}


def _exports(package: str) -> set[str]:
    init = REPO.joinpath(*package.split("."), "__init__.py")
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def module_graph(paths: list[Path]) -> dict[str, set[str]]:
    known = {_module_name(p) for p in paths}
    return {
        _module_name(p): import_edges(p.read_text(), _module_name(p), known,
                                      is_package=p.name == "__init__.py")
        for p in paths
    }


@pytest.mark.parametrize("layer", ["engine", "domain", "sources"])
def test_lower_layers_never_import_dagster(layer: str) -> None:
    modules = _python_files(PACKAGE / layer)
    offending = {
        f"{_relative(path)}: {name}"
        for path in modules
        for name in _imports_of(path)
        if _is(name, "dagster") or name.startswith("dagster_")
    }
    assert modules
    assert not offending


@pytest.mark.parametrize("layer", ["domain", "sources"])
def test_domain_and_sources_use_only_the_engine_interface(layer: str) -> None:
    offending = {
        f"{_relative(path)}: {name}"
        for path in _python_files(PACKAGE / layer)
        for name in _engine_violations(_imports_of(path))
    }
    assert not offending


def test_only_the_engine_builders_reach_inside_an_engine_package() -> None:
    engine_dir = PACKAGE / "engine"
    engine_tests = (TESTS / "engine" / "deltars", TESTS / "engine" / "spark")
    checked = [
        p for p in _python_files(PACKAGE, TESTS, REPO / "benchmarks", REPO / "scripts")
        if not p.is_relative_to(engine_dir)
        and not any(p.is_relative_to(d) for d in engine_tests)
        and _relative(p) not in ENGINE_BUILDERS
    ]
    offending = {f"{_relative(p)}: {n}" for p in checked for n in _engine_internals(_imports_of(p))}
    assert len(checked) > 50
    assert not offending


def test_each_engine_keeps_to_its_own_package() -> None:
    """delta-rs modules never import Spark modules, nor the other way round."""
    offending = set()
    for own, other in (ENGINE_PACKAGES, ENGINE_PACKAGES[::-1]):
        folder = PACKAGE.joinpath(*own.split(".")[1:])
        offending |= {f"{_relative(p)}: {n}" for p in _python_files(folder)
                      for n in _imports_of(p) if _is(n, other)}
    assert not offending


def test_no_domain_capability_imports_the_dagster_layer() -> None:
    offending = {
        f"{_relative(path)}: {name}"
        for path in _python_files(PACKAGE / "domain", PACKAGE / "sources", PACKAGE / "engine")
        for name in _imports_of(path)
        if _is(name, "recovery_platform.defs") or _is(name, "recovery_platform.definitions")
    }
    assert not offending


def test_the_lakehouse_plumbing_imports_no_capability() -> None:
    offending = {
        f"{_relative(path)}: {name}"
        for path in _python_files(PACKAGE / "domain" / "lakehouse")
        for name in _imports_of(path)
        if any(_is(name, f"recovery_platform.domain.{c}") for c in CAPABILITIES)
    }
    assert not offending


def test_every_domain_capability_has_its_own_folder_saying_what_it_owns() -> None:
    for name in ("lakehouse", *CAPABILITIES):
        init = PACKAGE / "domain" / name / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init} needs a docstring"
    assert not [p.name for p in (PACKAGE / "domain").glob("*.py") if p.name != "__init__.py"]


@pytest.mark.parametrize("roots", [("recovery_platform",), ("recovery_platform_tests",)])
def test_no_import_cycles_between_modules(roots: tuple[str, ...]) -> None:
    paths = _python_files(*(REPO / r for r in roots))
    graph = module_graph(paths)
    assert len(graph) > 50
    assert find_cycles(graph) == []


def test_a_cycle_is_found_even_through_type_checking_imports() -> None:
    plan = (
        "from typing import TYPE_CHECKING\n"
        "from recovery_platform.domain.rollback.report import render_plan\n"
    )
    report = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from recovery_platform.domain.rollback import plan\n"
    )
    known = {"recovery_platform.domain.rollback", "recovery_platform.domain.rollback.plan",
             "recovery_platform.domain.rollback.report"}
    graph = {
        "recovery_platform.domain.rollback.plan":
            import_edges(plan, "recovery_platform.domain.rollback.plan", known),
        "recovery_platform.domain.rollback.report":
            import_edges(report, "recovery_platform.domain.rollback.report", known),
    }
    assert find_cycles(graph) == [
        ["recovery_platform.domain.rollback.plan", "recovery_platform.domain.rollback.report"]
    ]


def test_the_checks_catch_every_way_of_importing() -> None:
    probe = (
        "from typing import TYPE_CHECKING\n"
        "from recovery_platform.engine import StorageEngine, RowCounts\n"
        "from recovery_platform.engine.values import CommitInfo\n"
        "from ..engine import deltars\n"
        "from ..engine.spark.session import build_spark_session\n"
        "from recovery_platform.engine.deltars import DeltaRsEngine, table\n"
        "if TYPE_CHECKING:\n    import dagster as dg\n"
        "def f():\n    from dagster_deltalake import LocalConfig\n"
        "    import pyspark.sql\n    from delta.tables import DeltaTable\n"
    )
    names = imported_modules(probe, "recovery_platform.domain.probe")
    assert {"dagster", "dagster_deltalake"} <= names
    assert _engine_violations(names) == {
        "recovery_platform.engine.deltars", "recovery_platform.engine.spark",
        "pyspark.sql", "delta.tables",
    }
    assert _engine_internals(names) == {
        "recovery_platform.engine.spark.session",
        "recovery_platform.engine.spark.session.build_spark_session",
        "recovery_platform.engine.deltars.table",
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
