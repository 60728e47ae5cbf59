"""The docs cannot drift: the metadata-table doc lists every table and column of the schema."""

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from recovery_platform.domain.lakehouse.metadata_schema import COLUMNS, MetadataTable

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "metadata_tables.md"
REGENERATE = "regenerate it: .venv/bin/python scripts/metadata_docs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("metadata_docs", REPO / "scripts" /
                                                  "metadata_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (\w+)\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_metadata_table_and_column_is_documented_with_its_type() -> None:
    generator = _generator()
    sections = _sections(DOC.read_text())
    assert set(sections) == {t.value for t in MetadataTable}, REGENERATE
    for table in MetadataTable:
        documented = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|no) \| (.+) \|$",
                                sections[table.value], flags=re.MULTILINE)
        expected = [(c.name, generator.delta_type(c.type), "no" if c.nullable else "yes")
                    for c in COLUMNS[table]]
        assert [row[:3] for row in documented] == expected, f"{table.value}: {REGENERATE}"
        assert all(row[3].strip() for row in documented), f"{table.value}: a column has no meaning"


def test_doc_is_exactly_the_generated_output() -> None:
    assert DOC.read_text() == _generator().render(), REGENERATE


def test_every_table_has_a_purpose() -> None:
    purposes = _generator().PURPOSE
    assert {t.value for t in MetadataTable} <= set(purposes), "add the table's purpose to PURPOSE"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert first_block.split() == ["bash", "./scripts/demo.sh", "./scripts/test.sh"]
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()
    for script in ("demo.sh", "test.sh", "setup.sh"):
        assert (REPO / "scripts" / script).stat().st_mode & 0o111, f"{script} not executable"


def test_every_file_the_docs_name_exists() -> None:
    """A moved file cannot leave a doc behind.

    Paths in backticks (`domain/rollback/plan.py`, `defs/resources.py::run_executor`) resolve from
    the repository root, the package, the test package or the doc's own folder.
    """
    named = re.compile(r"`([\w./-]+\.(?:py|md|sh|yaml|toml))(?:::\w+)?`")
    missing = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for path in named.findall(doc.read_text()):
            roots = (REPO, REPO / "recovery_platform", REPO / "recovery_platform_tests", doc.parent)
            if not any((root / path).exists() for root in roots):
                missing.append(f"{doc.name}: {path}")
    assert not missing
