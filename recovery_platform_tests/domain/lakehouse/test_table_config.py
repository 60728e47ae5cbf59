"""tables.yaml is checked strictly: every refused value is named by table and field.

Each test writes a real file: the checked-in configuration with one mistake in it.
"""

import copy
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from recovery_platform.domain.lakehouse.table_config import (
    DEFAULT_CONFIG_PATH,
    TableConfigError,
    load_platform_config,
)
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, RelationSeverity

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "recovery_platform" / "tables.schema.json"
REGENERATE = "regenerate it: .venv/bin/python scripts/config_schema.py"
CHECKED_IN: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())

Mistake = Callable[[dict[str, Any]], None]


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in raw["tables"] if t["name"] == name)


def _refusal(tmp_path: Path, mistake: Mistake) -> str:
    """The error text of loading the checked-in configuration with `mistake` applied."""
    raw = copy.deepcopy(CHECKED_IN)
    mistake(raw)
    path = tmp_path / "tables.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ValueError) as refused:
        load_platform_config(path)
    assert isinstance(refused.value, TableConfigError)
    return str(refused.value)


def _names(message: str, table: str, field: str) -> None:
    assert f"tables.yaml: table '{table}', field '{field}'" in message, message


def test_a_misspelt_key_is_refused_and_the_right_one_suggested(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "contact").update(mass_deletion_treshold=0.2)
    )
    _names(message, "contact", "mass_deletion_treshold")
    assert "unknown key (did you mean 'mass_deletion_threshold'?)" in message


def test_a_misspelt_key_in_defaults_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, lambda raw: raw["defaults"].update(enable_vacum=False))
    assert "tables.yaml: defaults, field 'enable_vacum': unknown key" in message


def test_a_quoted_boolean_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, lambda raw: _table(raw, "contact").update(enable_vacuum="no"))
    _names(message, "contact", "enable_vacuum")
    assert "true or false" in message


def test_a_quoted_number_is_refused(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "contact").update(vacuum_retention_hours="200")
    )
    _names(message, "contact", "vacuum_retention_hours")
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "donation").update(mass_deletion_threshold="0.2")
    )
    _names(message, "donation", "mass_deletion_threshold")


def test_a_relation_without_on_violation_is_refused(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "contact")["relations"][0].pop("on_violation")
    )
    _names(message, "contact", "relations[0].on_violation")
    assert message.endswith("required")


def test_an_unknown_on_violation_is_refused_with_the_allowed_values(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path,
        lambda raw: _table(raw, "contact")["relations"][0].update(on_violation="fatal"),
    )
    _names(message, "contact", "relations[0].on_violation")
    assert message.endswith("'fatal' is not allowed; allowed: error, warn")


def test_a_table_declared_twice_is_refused(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: raw["tables"].append(copy.deepcopy(_table(raw, "contact")))
    )
    _names(message, "contact", "name")
    assert "declared twice" in message


def test_a_primary_key_that_is_not_a_declared_column_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, lambda raw: _table(raw, "contact").update(primary_key="id"))
    _names(message, "contact", "primary_key")
    assert "'id' is not a declared column; allowed: contactid, " in message


def test_a_vacuum_retention_below_a_week_is_refused(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "account").update(vacuum_retention_hours=167)
    )
    _names(message, "account", "vacuum_retention_hours")
    assert "168" in message


def test_an_unknown_zorder_column_is_refused(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "account").update(optimize_zorder_columns=["town"])
    )
    _names(message, "account", "optimize_zorder_columns[0]")
    assert "'town' is not a declared column" in message


@pytest.mark.parametrize("threshold", [0, 1.5])
def test_a_mass_deletion_threshold_outside_zero_to_one_is_refused(
    tmp_path: Path, threshold: float
) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "donation").update(mass_deletion_threshold=threshold)
    )
    _names(message, "donation", "mass_deletion_threshold")


def test_retention_days_must_be_positive_and_of_a_known_checkpoint_type(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "contact").update(retention_days={"Daily": 0})
    )
    _names(message, "contact", "retention_days.Daily")
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "contact").update(retention_days={"Weekly": 7})
    )
    _names(message, "contact", "retention_days.Weekly")
    assert f"allowed: {', '.join(CheckpointType)}, ManualLongTerm" in message


def test_a_relation_to_an_undeclared_table_or_column_is_refused(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path,
        lambda raw: _table(raw, "contact")["relations"][0].update(references="acount"),
    )
    _names(message, "contact", "relations[0].references")
    assert "unknown table 'acount'; allowed: account, contact, donation" in message
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "contact")["relations"][0].update(column="parent")
    )
    _names(message, "contact", "relations[0].column")


def test_an_unknown_column_type_is_refused_with_the_allowed_types(tmp_path: Path) -> None:
    message = _refusal(
        tmp_path, lambda raw: _table(raw, "donation")["columns"][3].update(type="decimal")
    )
    _names(message, "donation", "columns[3].type")
    assert message.endswith("allowed: string, int64, float64, bool, date, timestamp")


def test_the_checked_in_file_names_its_schema_and_loads_as_before() -> None:
    assert DEFAULT_CONFIG_PATH.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=./tables.schema.json"
    )
    config = load_platform_config(DEFAULT_CONFIG_PATH)
    assert config.table_names == ("account", "contact", "donation", "activitypointer")
    assert [t.primary_key for t in config.tables.values()] == [
        "accountid", "contactid", "donationid", "activityid"]
    donation = config.table("donation")
    assert donation.mass_deletion_threshold == 0.05
    assert config.table("account").mass_deletion_threshold == 0.10
    assert [(r.column, r.references, r.on_violation) for r in donation.relations] == [
        ("accountid", "account", RelationSeverity.error),
        ("contactid", "contact", RelationSeverity.warn),
    ]
    assert config.table("account").optimize_zorder_columns == ("LastSynced", "IsDeleted")
    assert donation.retention_days["PrePurge"] == 365
    assert donation.retention_days["ManualLongTerm"] == 3650
    assert (donation.vacuum_retention_hours, donation.enable_vacuum) == (168, True)
    assert [(c.name, c.type, c.nullable) for c in donation.columns[:4]] == [
        ("donationid", "string", False), ("accountid", "string", True),
        ("contactid", "string", True), ("amount", "float64", True)]


def _schema_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "config_schema", REPO / "scripts" / "config_schema.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_json_schema_is_the_generated_one() -> None:
    assert SCHEMA.read_text() == _schema_script().render(), REGENERATE
