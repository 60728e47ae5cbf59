from pathlib import Path

import pyarrow as pa
import pytest

from recovery_platform.sources import declared_schemas


def test_reads_columns_types_and_nullability(tmp_path: Path) -> None:
    config = tmp_path / "tables.yaml"
    config.write_text(
        "tables:\n"
        "  - name: thing\n"
        "    primary_key: thingid\n"
        "    columns:\n"
        "      - {name: thingid, type: string, nullable: false}\n"
        "      - {name: flag, type: bool}\n"
        "      - {name: seen, type: timestamp}\n"
    )

    assert declared_schemas(config) == {
        "thing": pa.schema(
            [
                pa.field("thingid", pa.string(), nullable=False),
                pa.field("flag", pa.bool_()),
                pa.field("seen", pa.timestamp("us", tz="UTC")),
            ]
        )
    }


def test_unknown_types_are_refused_naming_the_allowed_ones(tmp_path: Path) -> None:
    config = tmp_path / "tables.yaml"
    config.write_text("tables:\n  - name: thing\n    columns:\n      - {name: n, type: decimal}\n")

    with pytest.raises(ValueError, match="'decimal'; allowed types: string, int64"):
        declared_schemas(config)


def test_the_packaged_tables_yaml_declares_the_demo_tables() -> None:
    schemas = declared_schemas()

    assert {"account", "contact", "donation", "activitypointer"} <= set(schemas)
    assert schemas["donation"].field("donatedon").type == pa.date32()
