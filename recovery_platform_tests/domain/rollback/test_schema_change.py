"""A table whose schema changed after the checkpoint restores to the old schema; syncs go on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.sources import extract_path, write_extract
from recovery_platform_tests.domain.rollback.lab import BAD_DAY, DAYS, START, TABLES, Lab

LAST_DAY = START + timedelta(days=DAYS - 1)


def _with_website(data: pa.Table) -> pa.Table:
    return data.append_column(
        "website", pa.array([f"https://{i}.example.org" for i in range(data.num_rows)])
    )


def _land_next_day(lab: Lab) -> None:
    """The day after the last sync: same rows, and account extracts now carry `website`."""
    for table in TABLES:
        data = pq.read_table(extract_path(lab.landing, table, LAST_DAY))
        write_extract(
            lab.landing, table, BAD_DAY, _with_website(data) if table == "account" else data
        )


def _declaring_website(lab: Lab, tmp_path: Path) -> Lab:
    """The same lakehouse seen through a tables.yaml that declares account.website."""
    text = (Path(__file__).resolve().parents[3] / "recovery_platform" / "tables.yaml").read_text()
    declared = text.replace(
        "      - {name: industry, type: string}\n",
        "      - {name: industry, type: string}\n      - {name: website, type: string}\n",
        1,
    )
    assert declared != text
    path = tmp_path / "tables.yaml"
    path.write_text(declared)
    lab.resource = LakehouseResource(root=str(lab.lake), config_path=str(path))
    lab.house = lab.resource.lakehouse()
    lab.store = MetadataStore(lab.house)
    lab.engine = lab.house.engine
    return lab


def _rollback_restores_old_schema(lab: Lab) -> None:
    target = lab.batch(-1)
    uri = lab.uri("account")
    old_schema = DeltaTable(uri, version=target.pin("account").version).schema().to_arrow()
    assert "website" in lab.engine.schema(uri).names
    run = lab.rollback(checkpoint_id=target.checkpoint_id, require_approval=False, dry_run=False)
    assert run.success, run.error
    assert DeltaTable(uri).schema().to_arrow() == old_schema
    assert "website" not in lab.engine.schema(uri).names
    assert lab.fingerprint("account") == target.pin("account").fingerprint


def test_overwritten_with_a_new_column_restores_old_schema_and_syncs_go_on(lab: Lab) -> None:
    uri = lab.uri("account")
    lab.engine.overwrite(uri, _with_website(DeltaTable(uri).to_pyarrow_table()))
    _rollback_restores_old_schema(lab)
    _land_next_day(lab)
    sync = lab.sync(BAD_DAY)
    assert sync.success
    assert "website" not in lab.engine.schema(uri).names  # undeclared columns never land
    assert lab.batch(-1).status.value == "Validated"


def test_with_the_column_declared_the_next_sync_adds_it_back(lab: Lab, tmp_path: Path) -> None:
    uri = lab.uri("account")
    lab.engine.overwrite(uri, _with_website(DeltaTable(uri).to_pyarrow_table()))
    lab = _declaring_website(lab, tmp_path)
    _rollback_restores_old_schema(lab)
    _land_next_day(lab)
    sync = lab.sync(BAD_DAY)
    assert sync.success
    data = DeltaTable(uri).to_pyarrow_table(columns=["accountid", "website", "IsDeleted"])
    active = data.filter(pa.compute.invert(data.column("IsDeleted")))
    assert active.column("website").null_count == 0
    assert lab.batch(-1).status.value == "Validated"


def test_schema_evolved_by_a_merge_restores_old_schema(lab: Lab) -> None:
    uri = lab.uri("account")
    rows = _with_website(DeltaTable(uri).to_pyarrow_table().slice(0, 5))
    lab.engine.merge_upsert(uri, rows, key="accountid")
    _rollback_restores_old_schema(lab)
