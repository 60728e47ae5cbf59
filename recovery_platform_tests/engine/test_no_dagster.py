"""The engine layer must stay usable without Dagster (the Spark engine ships it to executors)."""

from __future__ import annotations

import ast
from pathlib import Path

import recovery_platform.engine as engine_package

ENGINE_DIR = Path(engine_package.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_engine_modules_never_import_dagster() -> None:
    files = sorted(ENGINE_DIR.glob("*.py"))
    assert any(f.name == "fingerprint.py" for f in files)
    for path in files:
        offenders = {m for m in imported_modules(path) if m.split(".")[0].startswith("dagster")}
        assert not offenders, f"{path.name} imports {offenders}"


def test_fingerprint_needs_only_pyarrow_and_numpy() -> None:
    allowed = {
        "__future__",
        "functools",
        "hashlib",
        "json",
        "collections.abc",
        "numpy",
        "pyarrow",
        "pyarrow.compute",
    }
    assert imported_modules(ENGINE_DIR / "fingerprint.py") <= allowed
