"""The Dagster definitions: exactly the assets, checks, jobs and schedules that are the interface,
loaded without touching the lakehouse."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

import recovery_platform
from recovery_platform.definitions import defs

BIN = Path(sys.executable).parent
TABLES_YAML = Path(recovery_platform.__file__).parent / "tables.yaml"
INVARIANTS = {
    "tracking_counts_consistent",
    "no_null_primary_keys",
    "unique_primary_key",
    "schema_as_declared",
    "tracking_columns_consistent",
    "referential_integrity",
}
BATCH = dg.AssetKey(["checkpoints", "daily_batch"])


@pytest.fixture(scope="module")
def tables() -> list[str]:
    """Table names read straight from the checked-in file, not through the platform's loader."""
    return [t["name"] for t in yaml.safe_load(TABLES_YAML.read_text())["tables"]]


@pytest.fixture(scope="module")
def graph() -> Any:
    return defs.resolve_asset_graph()


def test_asset_keys_are_exactly_source_bronze_and_the_batch(
    tables: list[str], graph: Any
) -> None:
    expected = {dg.AssetKey(["source", t]) for t in tables}
    expected |= {dg.AssetKey(["bronze", t]) for t in tables}
    expected.add(BATCH)
    assert set(graph.get_all_asset_keys()) == expected


def test_every_bronze_asset_has_its_blocking_invariant_checks_and_a_checkpoint_warning(
    tables: list[str], graph: Any
) -> None:
    specs = [spec for assets_def in graph.assets_defs for spec in assets_def.check_specs]
    by_asset: dict[dg.AssetKey, dict[str, bool]] = {}
    for spec in specs:
        by_asset.setdefault(spec.asset_key, {})[spec.name] = spec.blocking
    assert set(by_asset) == {dg.AssetKey(["bronze", t]) for t in tables}
    for checks in by_asset.values():
        assert checks == {**dict.fromkeys(INVARIANTS, True), "checkpoint_created": False}
    assert len(graph.asset_check_keys) == (len(INVARIANTS) + 1) * len(tables)


def test_lineage_runs_source_to_bronze_to_the_batch(
    tables: list[str], graph: Any
) -> None:
    for table in tables:
        assert graph.get(dg.AssetKey(["bronze", table])).parent_keys == {
            dg.AssetKey(["source", table])}
    assert graph.get(BATCH).parent_keys == {dg.AssetKey(["bronze", t]) for t in tables}


def test_jobs_and_what_the_daily_sync_materializes(tables: list[str]) -> None:
    names = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert names == {"daily_sync_job", "manual_checkpoint_job", "purge_metadata_job",
                     "rollback_job"}
    daily = defs.resolve_job_def("daily_sync_job")
    assert daily.asset_layer.selected_asset_keys == {
        dg.AssetKey(["bronze", t]) for t in tables} | {BATCH}


def test_the_one_schedule_runs_the_daily_sync_in_utc() -> None:
    schedules = list(defs.schedules or [])
    assert [s.name for s in schedules] == ["daily_sync_schedule"]
    schedule = defs.resolve_schedule_def("daily_sync_schedule")
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "daily_sync_job"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVERY_")}
    env.update({
        "DAGSTER_HOME": str(home),
        "RECOVERY_LAKEHOUSE_ROOT": str(tmp_path / "absent" / "lakehouse"),
        "RECOVERY_LANDING_ROOT": str(tmp_path / "absent" / "landing"),
    })
    return env


def test_dagster_validates_the_definitions_without_touching_the_lakehouse(
    tmp_path: Path,
) -> None:
    env = _clean_env(tmp_path)
    validate = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "recovery_platform.definitions"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    load = subprocess.run(
        [sys.executable, "-c",
         "from recovery_platform.definitions import defs\n"
         "defs.validate_loadable(defs)\n"
         "defs.resolve_asset_graph(); defs.resolve_all_job_defs()\n"
         "defs.resolve_schedule_def('daily_sync_schedule')\n"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert load.returncode == 0, load.stderr
    assert not (tmp_path / "absent").exists()
