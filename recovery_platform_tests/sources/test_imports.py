import ast
from pathlib import Path

import recovery_platform.sources

SOURCES = Path(recovery_platform.sources.__file__).parent
FORBIDDEN = ("dagster", "recovery_platform.defs", "recovery_platform.domain", "pyspark")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_sources_import_neither_dagster_nor_the_layers_above_nor_spark() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in SOURCES.glob("*.py")
        for name in _imports(path)
        if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)
    }
    assert not offending


def test_public_api_is_explicit() -> None:
    exported = recovery_platform.sources.__all__
    assert sorted(exported) == sorted(set(exported))
    assert all(hasattr(recovery_platform.sources, name) for name in exported)
