"""Several tables at once: same results, same order, serial where the engine says so."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.history import pin_table, pin_tables, recorded_pins
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.parallelism import (
    TABLE_WORKERS_ENV,
    map_tables,
    table_workers,
)
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform_tests.domain.site import demo, make_site
from recovery_platform_tests.domain.sync_runs import sync_run


class _Serial(DeltaRsEngine):
    """The delta-rs engine declaring that its calls must not overlap (as Spark does)."""

    capabilities = replace(DeltaRsEngine.capabilities, parallel_tables=False)


def _record_threads(tables: list[str], engine: DeltaRsEngine) -> tuple[list[str], set[str]]:
    seen: set[str] = set()

    def work(table: str) -> str:
        seen.add(threading.current_thread().name)
        time.sleep(0.05 if table == "a" else 0.0)  # the first table finishes last
        return table.upper()

    return list(map_tables(engine, tables, work)), seen


def test_results_come_back_in_table_order_from_several_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TABLE_WORKERS_ENV, "3")
    results, threads = _record_threads(["a", "b", "c", "d"], DeltaRsEngine({}))
    assert results == ["A", "B", "C", "D"]
    assert len(threads) > 1
    assert all(name.startswith("table") for name in threads)


def test_an_engine_without_parallel_tables_runs_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TABLE_WORKERS_ENV, "4")
    results, threads = _record_threads(["a", "b", "c"], _Serial({}))
    assert results == ["A", "B", "C"]
    assert threads == {threading.current_thread().name}


def test_worker_count_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TABLE_WORKERS_ENV, "2")
    assert table_workers() == 2
    monkeypatch.delenv(TABLE_WORKERS_ENV)
    assert 1 <= table_workers() <= 4
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(TABLE_WORKERS_ENV, bad)
        with pytest.raises(InvalidInputError, match=f"field '{TABLE_WORKERS_ENV}'.*allowed: an "
                                                    "integer of at least 1"):
            table_workers()


def test_parallel_pins_equal_serial_pins_and_recorded_pins_are_reused(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    manifest = demo(site.landing, days=1)
    sync_run(site.lakehouse, site.store, site.leases, site.landing, manifest.days[0])
    tables = list(site.lakehouse.config.table_names)

    parallel = pin_tables(site.lakehouse, tables)
    serial = [pin_table(site.lakehouse, t) for t in tables]
    assert [(p.table, p.version, p.counts, p.fingerprint) for p in parallel] == [
        (p.table, p.version, p.counts, p.fingerprint) for p in serial
    ]

    known = recorded_pins(site.store, tables)
    # the sync's Daily checkpoints pinned every table at its latest version
    assert {(p.table, p.version, p.table_id) for p in parallel} <= set(known)
    # a recorded pin is trusted only for the same table id: a forged entry for another id is
    # ignored, while one for the real id is what pin_tables returns instead of scanning
    first = parallel[0]
    forged = replace(known[(first.table, first.version, first.table_id)], fingerprint=12345)
    reused = pin_tables(site.lakehouse, [first.table],
                        known={(first.table, first.version, first.table_id): forged})
    assert reused[0].fingerprint == 12345
    ignored = pin_tables(site.lakehouse, [first.table],
                         known={(first.table, first.version, "another-table-id"): forged})
    assert ignored[0].fingerprint == first.fingerprint
    assert str(DeltaTable(site.lakehouse.bronze_uri(first.table)).metadata().id) == first.table_id


def test_sync_waves_put_every_table_after_the_tables_it_references(tmp_path: Path) -> None:
    """A child's referential check reads its parents: they must be synced first."""
    from recovery_platform.domain.lakehouse.parallelism import dependency_levels
    from recovery_platform.domain.lakehouse.table_config import load_platform_config

    config = load_platform_config()
    tables = list(config.table_names)
    waves = dependency_levels(config, tables)
    assert sorted(t for wave in waves for t in wave) == sorted(tables)
    position = {table: i for i, wave in enumerate(waves) for table in wave}
    relations = [(t, rel.references) for t in tables for rel in config.parents_of(t)
                 if rel.references != t]
    assert relations, "the demo configuration declares relations"
    for child, parent in relations:
        assert position[parent] < position[child], (child, parent, waves)
    assert waves[0] == ["account"]
    # a parent outside the scope does not hold its children back
    assert dependency_levels(config, ["contact", "donation"]) == [["contact"], ["donation"]]
