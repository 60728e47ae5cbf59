from __future__ import annotations

import pyarrow as pa
import pytest

from recovery_platform.engine import StorageEngine, TableNotFoundError
from recovery_platform_tests.engine.bronze import SCHEMA, SHAPE, ids, rows


def test_table_exists_and_create_is_idempotent(engine: StorageEngine, uri: str) -> None:
    assert not engine.table_exists(uri)
    created = engine.create_table(uri, SCHEMA, properties={"delta.appendOnly": "false"})
    assert engine.table_exists(uri)
    assert created.version == 0
    again = engine.create_table(uri, SCHEMA, properties={"other": "x"})
    assert again == created
    assert engine.schema(uri) == SCHEMA
    assert engine.read(uri).num_rows == 0


def test_append_returns_versions_and_reads_back(engine: StorageEngine, uri: str) -> None:
    engine.create_table(uri, SCHEMA, properties={})
    assert engine.append(uri, rows(ids(0, 3))) == 1
    assert engine.append(uri, rows(ids(3, 5))) == 2
    table = engine.read(uri)
    assert sorted(table.column("accountid").to_pylist()) == ids(0, 5)
    assert engine.read(uri, version=1).num_rows == 3
    assert engine.state(uri).version == 2
    assert engine.state(uri, 1).version == 1


def test_read_projects_and_filters_by_equality(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 6), deleted=ids(0, 2)))
    table = engine.read(uri, columns=["accountid", "IsDeleted"], equals={"IsDeleted": True})
    assert table.column_names == ["accountid", "IsDeleted"]
    assert sorted(table.column("accountid").to_pylist()) == ids(0, 2)
    one = engine.read(uri, equals={"accountid": "acc-0004", "IsDeleted": False})
    assert one.column("name").to_pylist() == ["name-acc-0004"]


def test_read_filter_on_null(engine: StorageEngine, uri: str) -> None:
    data = rows(ids(0, 3)).set_column(1, "name", pa.array(["a", None, "c"]))
    engine.append(uri, data)
    table = engine.read(uri, columns=["accountid"], equals={"name": None})
    assert table.column("accountid").to_pylist() == ["acc-0001"]


def test_overwrite_creates_replaces_and_changes_schema(engine: StorageEngine, uri: str) -> None:
    assert engine.overwrite(uri, rows(ids(0, 4))) == 0
    new_schema_rows = pa.table({"accountid": ["x"], "score": [7]})
    version = engine.overwrite(uri, new_schema_rows, commit_metadata={"recovery_platform.r": "1"})
    assert version == 1
    assert engine.read(uri).to_pylist() == [{"accountid": "x", "score": 7}]
    assert engine.schema(uri).names == ["accountid", "score"]
    assert engine.read(uri, version=0).num_rows == 4
    assert engine.history(uri, limit=1)[0].user_metadata == {"recovery_platform.r": "1"}


def test_overwrite_sets_properties_on_creation(engine: StorageEngine, uri: str) -> None:
    engine.overwrite(uri, rows(ids(0, 2)), properties={"recovery_platform.owner": "crm"})
    assert engine.get_properties(uri)["recovery_platform.owner"] == "crm"


def test_merge_upsert_updates_inserts_and_evolves_schema(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 3)))
    update = pa.table(
        {
            "accountid": ["acc-0001", "acc-0009"],
            "name": ["renamed", "new"],
            "segment": ["gold", "silver"],
        }
    )
    engine.merge_upsert(uri, update, key="accountid", commit_metadata={"recovery_platform.x": "m"})
    by_key = {r["accountid"]: r for r in engine.read(uri).to_pylist()}
    assert len(by_key) == 4
    assert by_key["acc-0001"]["name"] == "renamed"
    assert by_key["acc-0001"]["segment"] == "gold"
    assert by_key["acc-0001"]["amount"] == 1.0
    assert by_key["acc-0009"]["amount"] is None
    assert by_key["acc-0000"]["segment"] is None
    assert engine.history(uri, limit=1)[0].operation == "MERGE"
    assert engine.history(uri, limit=1)[0].user_metadata == {"recovery_platform.x": "m"}


def test_merge_upsert_refuses_unsafe_key_names(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 2)))
    with pytest.raises(ValueError, match="identifier"):
        engine.merge_upsert(uri, rows(ids(0, 1)), key='accountid" OR 1=1 --')
    assert engine.state(uri).version == 0


def test_update_where_sets_values_on_matching_rows(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 4)))
    version = engine.update_where(
        uri,
        equals={"accountid": "acc-0002"},
        values={"IsDeleted": True, "name": "gone", "amount": 2.5},
        commit_metadata={"recovery_platform.why": "test"},
    )
    assert version == 1
    row = engine.read(uri, equals={"accountid": "acc-0002"}).to_pylist()[0]
    assert (row["IsDeleted"], row["name"], row["amount"]) == (True, "gone", 2.5)
    assert engine.row_counts(uri, SHAPE).deleted == 1
    commit = engine.history(uri, limit=1)[0]
    assert commit.operation == "UPDATE"
    assert commit.user_metadata == {"recovery_platform.why": "test"}


def test_update_where_values_cannot_inject_sql(engine: StorageEngine, uri: str) -> None:
    hostile = "x' OR '1'='1"
    engine.append(uri, rows([hostile, "a", "b\\", "c'"]))
    engine.update_where(uri, equals={"accountid": hostile}, values={"name": "it's fine"})
    names = {r["accountid"]: r["name"] for r in engine.read(uri).to_pylist()}
    assert names[hostile] == "it's fine"
    assert names["a"] == "name-a"
    assert names["b\\"] == "name-b\\"
    engine.update_where(uri, equals={"accountid": "b\\"}, values={"name": "backslash"})
    engine.update_where(uri, equals={"accountid": "c'"}, values={"name": None})
    names = {r["accountid"]: r["name"] for r in engine.read(uri).to_pylist()}
    assert names == {hostile: "it's fine", "a": "name-a", "b\\": "backslash", "c'": None}


def test_update_where_refuses_unsafe_column_names(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 2)))
    with pytest.raises(ValueError, match="identifier"):
        engine.update_where(uri, equals={"1=1 OR accountid": "x"}, values={"name": "y"})
    with pytest.raises(ValueError, match="identifier"):
        engine.update_where(uri, equals={"accountid": "x"}, values={"name = 'y', amount": 1})
    assert engine.state(uri).version == 0


def test_history_is_newest_first_with_metadata_and_operations(
    engine: StorageEngine, uri: str
) -> None:
    engine.create_table(uri, SCHEMA, properties={})
    engine.append(uri, rows(ids(0, 2)), commit_metadata={"recovery_platform.run_id": "r-1"})
    engine.update_where(uri, equals={"accountid": "acc-0000"}, values={"IsDeleted": True})
    commits = engine.history(uri)
    assert [c.version for c in commits] == [2, 1, 0]
    assert [c.operation for c in commits] == ["UPDATE", "WRITE", "CREATE TABLE"]
    assert commits[1].user_metadata == {"recovery_platform.run_id": "r-1"}
    assert commits[0].user_metadata == {}
    assert commits[1].data_change
    assert commits[0].timestamp >= commits[1].timestamp >= commits[2].timestamp
    assert commits[2].timestamp.tzinfo is not None
    assert [c.version for c in engine.history(uri, limit=2)] == [2, 1]


def test_state_gives_table_id_and_commit_time(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 2)))
    engine.append(uri, rows(ids(2, 4)))
    state = engine.state(uri)
    assert state.version == 1
    assert state.table_id
    assert engine.state(uri, 0).table_id == state.table_id
    assert engine.state(uri, 0).timestamp == engine.history(uri)[-1].timestamp


def test_missing_table_raises_table_not_found(engine: StorageEngine, uri: str) -> None:
    with pytest.raises(TableNotFoundError):
        engine.read(uri)
    with pytest.raises(TableNotFoundError):
        engine.row_counts(uri, SHAPE)
    with pytest.raises(TableNotFoundError):
        engine.history(uri)
    with pytest.raises(TableNotFoundError):
        engine.restore(uri, 0, commit_metadata={})


def test_add_columns_evolves_the_schema_in_one_commit_keeping_rows_and_id(
    engine: StorageEngine, uri: str
) -> None:
    strict = pa.schema([SCHEMA.field(0).with_nullable(False), *list(SCHEMA)[1:]])
    engine.create_table(uri, strict, properties={})
    engine.append(uri, rows(ids(0, 3)).cast(strict))
    before = engine.state(uri)
    added = [pa.field("Region", pa.string()), pa.field("SeenAt", pa.timestamp("us", tz="UTC"))]

    version = engine.add_columns(uri, added, commit_metadata={"recovery_platform.m": "2:x"})

    assert version == before.version + 1 == engine.state(uri).version
    assert engine.state(uri).table_id == before.table_id
    assert engine.schema(uri) == pa.schema([*strict, *added])
    assert engine.schema(uri, before.version) == strict
    table = engine.read(uri)
    assert table.num_rows == 3
    assert set(table.column("Region").to_pylist()) == {None}
    assert engine.history(uri, limit=1)[0].user_metadata == {"recovery_platform.m": "2:x"}
    assert engine.add_columns(uri, added[:1]) == version
    assert engine.state(uri).version == version
