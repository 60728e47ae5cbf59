"""The request is checked against the allowlists before anything is read or written."""

from __future__ import annotations

import pytest

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable, schema_of
from recovery_platform.domain.lakehouse.table_config import load_platform_config
from recovery_platform.domain.maintenance.metadata_tables import (
    METADATA_MIN_VACUUM_HOURS,
    METADATA_ZORDER,
)
from recovery_platform.domain.maintenance.request import OPERATIONS, MaintenanceRequest

CONFIG = load_platform_config()


def test_defaults_are_every_operation_on_every_enabled_table_as_a_dry_run() -> None:
    request = MaintenanceRequest.of(CONFIG)
    assert request.dry_run and request.operations == frozenset(OPERATIONS)
    assert request.selected_tables(CONFIG) == CONFIG.table_names


@pytest.mark.parametrize(("fields", "field", "allowed"), [
    ({"tables": ["acount"]}, "tables", "account, contact"),
    ({"tables": ["account", "account"]}, "tables", "account, contact"),
    ({"operations": ["vacuum", "zorder"]}, "operations", "vacuum, optimize, retention, metadata"),
    ({"operations": []}, "operations", "vacuum, optimize"),
])
def test_a_bad_table_or_operation_is_refused_naming_the_field_and_the_allowed_values(
    fields: dict[str, list[str]], field: str, allowed: str
) -> None:
    with pytest.raises(ValueError, match=rf"field '{field}'.*allowed: {allowed}"):
        MaintenanceRequest.of(CONFIG, **fields)  # type: ignore[arg-type]


def test_every_metadata_table_has_zorder_columns_it_really_holds() -> None:
    assert set(METADATA_ZORDER) == set(MetadataTable)
    for table, columns in METADATA_ZORDER.items():
        assert set(columns) <= set(schema_of(table).names), table
    assert METADATA_MIN_VACUUM_HOURS == 720
