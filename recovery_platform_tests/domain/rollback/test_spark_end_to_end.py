"""The demo scenario on the Spark engine, chosen by configuration only, through real Dagster.

Environment variables select the engine and the Spark session (as on a real deployment); the
definitions are assembled from them, and every run uses the definitions' own resources:
dagster-pyspark's session resource feeding the Spark engine. Two tables (account, and contact
referencing it) keep it small: days synced, Daily and DailyBatch checkpoints, a bad sync released
past the guard by an override, a rollback planned, applied and proven. (The guard holding a sync
is engine-neutral domain logic, covered on delta-rs by the daily-sync job tests.)
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from recovery_platform.definitions import build_definitions
from recovery_platform.defs.resources import (
    ENGINE_ENV,
    LANDING_ROOT_ENV,
    SPARK_CONF_ENV,
    SPARK_MASTER_ENV,
)
from recovery_platform.domain.lakehouse.location import LAKEHOUSE_ROOT_ENV
from recovery_platform.domain.lakehouse.table_config import CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH
from recovery_platform.domain.rollback.record import ours
from recovery_platform.engine.spark import SparkEngine
from recovery_platform.sources import DemoScale, generate_demo_crm, write_bad_sync_extract
from recovery_platform_tests.domain.rollback.lab import Lab
from recovery_platform_tests.spark_support import TEST_CONF, ivy_dir, shared_spark_session

pytestmark = pytest.mark.spark

START = date(2026, 1, 5)
DAYS = 2
BAD_DAY = START + timedelta(days=DAYS)
TABLES = ("account", "contact")
SCALE = DemoScale(accounts=200, contacts=300, donations=0, activities=0)


def two_table_config(path: Path) -> Path:
    """The checked-in table configuration reduced to account and contact (its relation kept)."""
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    raw["tables"] = [t for t in raw["tables"] if t["name"] in TABLES]
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def spark_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """A lakehouse configured for Spark by environment variables, as an operator would."""
    shared_spark_session()
    monkeypatch.setenv(ENGINE_ENV, "spark")
    monkeypatch.setenv(SPARK_MASTER_ENV, "local[2]")
    monkeypatch.setenv(SPARK_CONF_ENV, json.dumps({**TEST_CONF, "spark.jars.ivy": str(ivy_dir())}))
    monkeypatch.setenv(LAKEHOUSE_ROOT_ENV, str(tmp_path / "lake"))
    monkeypatch.setenv(LANDING_ROOT_ENV, str(tmp_path / "landing"))
    monkeypatch.setenv(CONFIG_PATH_ENV, str(two_table_config(tmp_path / "tables.yaml")))
    generate_demo_crm(tmp_path / "landing", start=START, days=DAYS, scale=SCALE, tables=TABLES)
    return Lab(tmp_path)


def run(defs: dg.Definitions, job: str, op: str, **config: Any) -> dg.ExecuteInProcessResult:
    """One run of a job with the definitions' own resources and executor."""
    result = defs.resolve_job_def(job).execute_in_process(
        run_config={"ops": {op: {"config": config}}}, raise_on_error=False
    )
    errors = [e.event_specific_data.error for e in result.all_events if e.is_step_failure]
    assert result.success, errors
    return result


def test_demo_scenario_on_spark_selected_by_configuration(spark_deployment: Lab) -> None:
    lab = spark_deployment
    defs = build_definitions()
    resource = defs.resources["lakehouse"]
    assert resource.engine == "spark"
    assert resource.spark.spark_config["spark.master"] == "local[2]"
    assert defs.resolve_job_def("rollback_job").executor_def is dg.in_process_executor
    assert isinstance(lab.engine, SparkEngine)

    for offset in range(DAYS):
        run(defs, "daily_sync_job", "daily_sync", sync_date=(START + timedelta(offset)).isoformat())
    daily = lab.checkpoints("Daily")
    batches = lab.checkpoints("DailyBatch")
    assert len(daily) == DAYS * len(TABLES)
    assert len(batches) == DAYS
    assert {c.status.value for c in [*daily, *batches]} == {"Validated"}
    good = batches[-1]
    shape = lab.house.config.table("account").shape
    assert lab.engine.row_counts(lab.uri("account"), shape).deleted == good.pin(
        "account"
    ).counts.deleted

    write_bad_sync_extract(lab.landing, "account", BAD_DAY, drop_fraction=0.5)
    write_bad_sync_extract(lab.landing, "contact", BAD_DAY, drop_fraction=0.0)
    override = {"table": "account", "reason": "e2e bad sync", "approved_by": "bob"}
    run(
        defs,
        "daily_sync_job",
        "daily_sync",
        sync_date=BAD_DAY.isoformat(),
        overrides=[override],
    )
    bad = lab.engine.row_counts(lab.uri("account"), shape)
    assert bad.deleted >= good.pin("account").counts.active // 2

    planned = run(
        defs,
        "rollback_job",
        "rollback",
        checkpoint_id=good.checkpoint_id,
        requested_by="alice",
        reason="bad sync on day 3",
    )
    plan_id = planned.output_for_node("rollback")
    assert lab.plan_row(plan_id)["Status"] == "Planned"
    account_plan = next(t for t in lab.plan_json(plan_id)["tables"] if t["table"] == "account")
    assert account_plan["diff"]["state_changes"]["deleted->active"] == (
        bad.deleted - good.pin("account").counts.deleted
    )

    run(
        defs,
        "rollback_job",
        "rollback",
        checkpoint_id=good.checkpoint_id,
        requested_by="alice",
        approved_by="bob",
        approved_plan_id=plan_id,
        dry_run=False,
    )
    lab.assert_matches_checkpoint(good, TABLES)
    restores = [c for c in lab.engine.history(lab.uri("account")) if ours(c, plan_id, "account")]
    assert len(restores) == 1
    assert lab.plan_row(plan_id)["Status"] == "Applied"
    post = lab.checkpoints("PostRollback")
    assert [c.status.value for c in post] == ["Validated"]
