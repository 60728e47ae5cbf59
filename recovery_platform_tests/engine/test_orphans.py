from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engine.bronze import ids, rows


def contacts(parents: list[str | None]) -> pa.Table:
    return pa.table(
        {
            "contactid": [f"c-{i}" for i in range(len(parents))],
            "parentcustomerid": pa.array(parents, type=pa.string()),
            "IsDeleted": [False] * len(parents),
        }
    )


def test_orphans_are_counted_and_sampled(engine: StorageEngine, tmp_path: Path) -> None:
    account, contact = str(tmp_path / "account"), str(tmp_path / "contact")
    engine.append(account, rows(ids(0, 5), deleted=["acc-0004"]))
    engine.append(contact, contacts(["acc-0001", "zz", None, "acc-0004", "x-9", "zz", "acc-7"]))
    result = engine.orphan_count(contact, "parentcustomerid", account, "accountid", sample_size=2)
    assert result.count == 4
    assert result.sample_keys == ("acc-7", "x-9")


def test_orphans_at_pinned_versions(engine: StorageEngine, tmp_path: Path) -> None:
    account, contact = str(tmp_path / "account"), str(tmp_path / "contact")
    engine.append(account, rows(ids(0, 2)))
    engine.append(account, rows(ids(2, 4)))
    engine.append(contact, contacts(["acc-0003", "acc-0000"]))
    assert engine.orphan_count(contact, "parentcustomerid", account, "accountid").count == 0
    old = engine.orphan_count(
        contact, "parentcustomerid", account, "accountid", parent_version=0, child_version=0
    )
    assert (old.count, old.sample_keys) == (1, ("acc-0003",))


def test_no_children_no_orphans(engine: StorageEngine, tmp_path: Path) -> None:
    account, contact = str(tmp_path / "account"), str(tmp_path / "contact")
    engine.append(account, rows(ids(0, 2)))
    engine.append(contact, contacts([None, None]))
    result = engine.orphan_count(contact, "parentcustomerid", account, "accountid")
    assert (result.count, result.sample_keys) == (0, ())
