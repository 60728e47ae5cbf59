"""Injection attempts against the Spark engine are refused with ValueError before Spark runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recovery_platform.engine.spark import SparkEngine
from recovery_platform.engine.spark.sql import (
    alter_properties_sql,
    checked_int,
    identifier,
    table_location,
    vacuum_dry_run_sql,
)
from recovery_platform_tests.engine.bronze import SHAPE, ids, rows
from recovery_platform_tests.spark_support import shared_spark_session

HOSTILE_NAME = "db.t RETAIN 0 HOURS --"
HOSTILE_VERSION: Any = "1 OR 1=1"


class RecordingSpark:
    """A stand-in session that fails the test if anything reaches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"Spark was reached ({name}) before the input was refused")


@pytest.fixture
def offline() -> SparkEngine:
    return SparkEngine(RecordingSpark())  # type: ignore[arg-type]


def test_identifiers_and_locations_are_checked() -> None:
    assert identifier("IsDeleted") == "IsDeleted"
    for bad in (HOSTILE_NAME, "a.b", "1abc", "name = 'y', amount", 'x" OR 1=1', ""):
        with pytest.raises(ValueError, match="identifier"):
            identifier(bad)
    for bad in (HOSTILE_NAME, "/lake/t`; DROP", "/lake/t' --", "/lake/x/*", "/lake/t\n"):
        with pytest.raises(ValueError, match="location"):
            table_location(bad)
    assert table_location("/lake/bronze/account") == "/lake/bronze/account"


def test_numbers_must_be_real_ints() -> None:
    assert checked_int(3, "version") == 3
    for bad in (HOSTILE_VERSION, "3", 3.0, True, None):
        with pytest.raises(ValueError, match="version must be an int"):
            checked_int(bad, "version")


def test_sql_text_is_built_from_validated_parts_only() -> None:
    text = alter_properties_sql("/lake/t", {"delta.logRetentionDuration": "interval 30 days"})
    assert text == (
        "ALTER TABLE delta.`/lake/t` SET TBLPROPERTIES "
        "('delta.logRetentionDuration' = 'interval 30 days')"
    )
    assert vacuum_dry_run_sql("/lake/t", 168) == "VACUUM delta.`/lake/t` RETAIN 168 HOURS DRY RUN"
    with pytest.raises(ValueError, match="retention_hours must be an int"):
        vacuum_dry_run_sql("/lake/t", "0 HOURS --")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quotes"):
        alter_properties_sql("/lake/t", {"recovery_platform.owner": "it's"})
    with pytest.raises(ValueError, match="key"):
        alter_properties_sql("/lake/t", {"a') RETAIN 0 HOURS --": "x"})


def test_hostile_inputs_never_reach_spark(offline: SparkEngine) -> None:
    uri = "/lake/bronze/account"
    attempts = [
        lambda: offline.vacuum(HOSTILE_NAME, retention_hours=168, dry_run=True),
        lambda: offline.vacuum(uri, retention_hours=0, dry_run=False),
        lambda: offline.vacuum(uri, retention_hours="168 --", dry_run=True),  # type: ignore[arg-type]
        lambda: offline.set_properties(HOSTILE_NAME, {"a": "b"}),
        lambda: offline.set_properties(uri, {"recovery_platform.note": "x' --"}),
        lambda: offline.set_properties(uri, {HOSTILE_NAME: "x"}),
        lambda: offline.restore(uri, HOSTILE_VERSION, commit_metadata={}),
        lambda: offline.read(uri, version=HOSTILE_VERSION),
        lambda: offline.row_counts(uri, SHAPE, HOSTILE_VERSION),
        lambda: offline.fingerprint(uri, SHAPE, HOSTILE_VERSION),
        lambda: offline.is_restorable(uri, HOSTILE_VERSION, "id"),
        lambda: offline.key_diff(uri, SHAPE, HOSTILE_VERSION, 1),
        lambda: offline.history(uri, limit=HOSTILE_VERSION),
        lambda: offline.merge_upsert(uri, rows(ids(0, 1)), key=HOSTILE_NAME),
        lambda: offline.update_where(uri, equals={HOSTILE_NAME: 1}, values={"name": "x"}),
        lambda: offline.update_where(uri, equals={"accountid": "x"}, values={HOSTILE_NAME: 1}),
        lambda: offline.optimize(uri, zorder_columns=[HOSTILE_NAME]),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError):
            attempt()


@pytest.mark.spark
def test_hostile_inputs_leave_a_real_table_untouched(tmp_path: Path) -> None:
    engine = SparkEngine(shared_spark_session())
    uri = str(tmp_path / "account")
    engine.append(uri, rows(ids(0, 3)))
    with pytest.raises(ValueError):
        engine.set_properties(uri, {"recovery_platform.note": "it's"})
    with pytest.raises(ValueError):
        engine.restore(uri, HOSTILE_VERSION, commit_metadata={})
    with pytest.raises(ValueError):
        engine.update_where(uri, equals={"accountid": "x"}, values={HOSTILE_NAME: 1})
    assert engine.state(uri).version == 0
    assert "recovery_platform.note" not in engine.get_properties(uri)
