"""The Dagster definitions: exactly the assets, checks, jobs, schedules and sensors that are the
interface, loaded without touching the lakehouse."""

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
MAINTENANCE = dg.AssetKey(["reports", "maintenance"])
INTEGRITY = dg.AssetKey(["reports", "checkpoint_integrity"])


@pytest.fixture(scope="module")
def tables() -> list[str]:
    """Table names read straight from the checked-in file, not through the platform's loader."""
    return [t["name"] for t in yaml.safe_load(TABLES_YAML.read_text())["tables"]]


@pytest.fixture(scope="module")
def graph() -> Any:
    return defs.resolve_asset_graph()


def test_asset_keys_are_exactly_source_bronze_the_batch_and_the_reports(
    tables: list[str], graph: Any
) -> None:
    expected = {dg.AssetKey(["source", t]) for t in tables}
    expected |= {dg.AssetKey(["bronze", t]) for t in tables}
    expected |= {BATCH, MAINTENANCE, INTEGRITY}
    assert set(graph.get_all_asset_keys()) == expected


def test_every_bronze_asset_has_its_blocking_invariant_checks_and_a_checkpoint_warning(
    tables: list[str], graph: Any
) -> None:
    specs = [spec for assets_def in graph.assets_defs for spec in assets_def.check_specs]
    by_asset: dict[dg.AssetKey, dict[str, bool]] = {}
    for spec in specs:
        by_asset.setdefault(spec.asset_key, {})[spec.name] = spec.blocking
    reports = {MAINTENANCE: {"no_failed_tables": False},
               INTEGRITY: {"all_checkpoints_restorable": False}}
    assert set(by_asset) == {dg.AssetKey(["bronze", t]) for t in tables} | set(reports)
    for key, checks in by_asset.items():
        assert checks == reports.get(key, {**dict.fromkeys(INVARIANTS, True),
                                           "checkpoint_created": False})
    assert len(graph.asset_check_keys) == (len(INVARIANTS) + 1) * len(tables) + len(reports)


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
                     "rollback_job", "maintenance_job", "checkpoint_integrity_job",
                     "send_test_alert_job"}
    daily = defs.resolve_job_def("daily_sync_job")
    assert daily.asset_layer.selected_asset_keys == {
        dg.AssetKey(["bronze", t]) for t in tables} | {BATCH}


def test_the_schedules_run_at_the_seeds_times_in_utc() -> None:
    """Daily sync at 02:00, maintenance Sundays at 02:00, integrity after it (tables.yaml)."""
    schedules = {s.name: (s.job_name, s.cron_schedule, s.execution_timezone)
                 for s in (defs.resolve_schedule_def(s.name) for s in defs.schedules or [])}
    assert schedules == {
        "daily_sync_schedule": ("daily_sync_job", "0 2 * * *", "UTC"),
        "weekly_maintenance_schedule": ("maintenance_job", "0 2 * * 0", "UTC"),
        "checkpoint_integrity_schedule": ("checkpoint_integrity_job", "0 6 * * 0", "UTC"),
    }


def test_the_alerting_sensors_run_by_default() -> None:
    """An alert nobody enabled reaches nobody: every alerting sensor starts RUNNING."""
    sensors = {s.name: (s.default_status, s.minimum_interval_seconds) for s in defs.sensors or []}
    running = dg.DefaultSensorStatus.RUNNING
    assert sensors == {
        "alert_delivery_sensor": (running, 30),
        "run_failure_alert_sensor": (running, 30),
        "asset_check_alert_sensor": (running, 30),
        "bronze_stale_sensor": (running, 300),
    }
    assert "notifier" in (defs.resources or {})


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
