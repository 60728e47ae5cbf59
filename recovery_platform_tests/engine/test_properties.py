from __future__ import annotations

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engine.bronze import SCHEMA, SHAPE, ids, rows


def test_properties_at_creation_and_later(engine: StorageEngine, uri: str) -> None:
    engine.create_table(
        uri,
        SCHEMA,
        properties={"delta.enableChangeDataFeed": "true", "recovery_platform.table": "account"},
    )
    properties = engine.get_properties(uri)
    assert properties["delta.enableChangeDataFeed"] == "true"
    assert properties["recovery_platform.table"] == "account"
    before = engine.state(uri).version
    version = engine.set_properties(
        uri, {"delta.logRetentionDuration": "interval 60 days", "recovery_platform.owner": "crm"}
    )
    assert version == before + 1
    properties = engine.get_properties(uri)
    assert properties["delta.logRetentionDuration"] == "interval 60 days"
    assert properties["recovery_platform.owner"] == "crm"
    assert properties["recovery_platform.table"] == "account"


def test_set_properties_commit_changes_no_data(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 3)))
    fingerprint = engine.fingerprint(uri, SHAPE)
    engine.set_properties(uri, {"recovery_platform.checked": "yes"})
    commit = engine.history(uri, limit=1)[0]
    assert commit.operation == "SET TBLPROPERTIES"
    assert not commit.data_change
    assert engine.fingerprint(uri, SHAPE) == fingerprint
