"""The data columns tables.yaml declares, as Arrow schemas, so extracts match bronze exactly.

A deliberately small reader of `tables[].columns`: the typed table configuration lives in the
domain package, which sources must not depend on.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
"""The column types tables.yaml may use, and the Arrow type each one is stored as."""


def declared_schemas(tables_yaml: str | Path | None = None) -> dict[str, pa.Schema]:
    """Each declared table's data columns (no tracking columns), by table name.

    Args:
        tables_yaml: The file to read; the packaged `recovery_platform/tables.yaml` by default.

    Raises:
        ValueError: If a column declares a type outside `ARROW_TYPES`.
    """
    if tables_yaml is None:
        text = resources.files("recovery_platform").joinpath("tables.yaml").read_text("utf-8")
    else:
        text = Path(tables_yaml).read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return {
        str(table["name"]): _schema(str(table["name"]), table["columns"])
        for table in document["tables"]
    }


def _schema(table: str, columns: list[dict[str, Any]]) -> pa.Schema:
    fields = []
    for column in columns:
        type_name = str(column["type"])
        if type_name not in ARROW_TYPES:
            raise ValueError(
                f"table '{table}' column '{column['name']}' has type '{type_name}'; "
                f"allowed types: {', '.join(ARROW_TYPES)}"
            )
        nullable = bool(column.get("nullable", True))
        fields.append(pa.field(str(column["name"]), ARROW_TYPES[type_name], nullable=nullable))
    return pa.schema(fields)
