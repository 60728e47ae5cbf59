from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from recovery_platform.engine import KeyDiff, StorageEngine
from recovery_platform_tests.engine.bronze import (
    SCHEMA,
    SHAPE,
    diff_of_reads,
    ids,
    independent_diff,
    rows,
)

CDF_ON = {"delta.enableChangeDataFeed": "true"}


def assert_matches(
    diff: KeyDiff, expected: dict[str, Any], from_version: int, to_version: int
) -> None:
    where = f"{from_version}->{to_version} ({diff.method})"
    assert (diff.from_version, diff.to_version) == (from_version, to_version), where
    assert diff.added == len(expected["added"]), where
    assert diff.removed == len(expected["removed"]), where
    assert diff.changed == len(expected["changed"]), where
    assert list(diff.sample_added) == expected["added"], where
    assert list(diff.sample_removed) == expected["removed"], where
    assert list(diff.sample_changed) == expected["changed"], where
    assert diff.state_changes == expected["state_changes"], where


def assert_matches_independent_diff(
    engine: StorageEngine, uri: str, from_version: int, to_version: int
) -> None:
    diff = engine.key_diff(uri, SHAPE, from_version, to_version, sample_size=1000)
    expected = independent_diff(engine, uri, from_version, to_version)
    assert_matches(diff, expected, from_version, to_version)


def interesting_pairs(versions: list[int], rewrites: set[int]) -> list[tuple[int, int]]:
    """Every version against the latest and its neighbour, both ways, plus the longest range.

    For an engine that reads the change data feed, the answer depends on which commits lie
    between the two versions (restores and optimizes force a fallback), hence every range.
    """
    latest = versions[-1]
    pairs = {(versions[0] + 1, latest)}
    for low, high in itertools.pairwise(versions[1:]):
        pairs |= {(low, high), (high, low), (low, latest), (latest, low)}
    return sorted((a, b) for a, b in pairs if a != b)


def commit_pairs(versions: list[int], rewrites: set[int]) -> list[tuple[int, int]]:
    """Every commit crossed alone, the whole range both ways, each restore and optimize backwards.

    For an engine that always diffs by joining the two versions' keys (Spark), the answer
    depends only on the two versions' rows, not on the commits between them: every kind of
    commit (append, merge with deletes and purges, update, optimize, restore) crossed once,
    and the rewrites undone, cover what the wider set covers for a change-data-feed reader.
    """
    first, latest = versions[0] + 1, versions[-1]
    pairs = {(first, latest), (latest, first)}
    for low, high in itertools.pairwise(versions[1:]):
        pairs.add((low, high))
        if high in rewrites:
            pairs.add((high, low))
    return sorted(pairs)


PAIRS: dict[str, Callable[[list[int], set[int]], list[tuple[int, int]]]] = {
    "deltars": interesting_pairs,
    "spark": commit_pairs,
}


def build_history(engine: StorageEngine, uri: str, properties: dict[str, str]) -> list[int]:
    """A table history with merges, updates, an optimize and restores; returns its versions."""
    engine.create_table(uri, SCHEMA, properties=properties)
    engine.append(uri, rows(ids(0, 10)))
    engine.append(uri, rows(ids(10, 20)))
    engine.merge_upsert(
        uri, rows(ids(5, 25), deleted=ids(5, 10), purged=ids(10, 12), tag="-2"), key="accountid"
    )
    engine.update_where(uri, equals={"accountid": "acc-0001"}, values={"name": "renamed"})
    engine.update_where(uri, equals={"accountid": "acc-0005"}, values={"IsDeleted": False})
    engine.append(uri, rows(ids(30, 33)))
    engine.append(uri, rows(ids(33, 36), deleted=["acc-0034"]))
    optimized = engine.optimize(uri)
    assert optimized.files_removed > 1
    engine.restore(uri, 3, commit_metadata={"recovery_platform.reason": "test"})
    engine.merge_upsert(uri, rows(["acc-0100", "acc-0006"], tag="-3"), key="accountid")
    engine.update_where(uri, equals={"IsPurged": True}, values={"IsDeleted": True})
    engine.restore(uri, optimized.version, commit_metadata={"recovery_platform.reason": "test"})
    history = engine.history(uri)
    assert "RESTORE" in [c.operation for c in history]
    assert "OPTIMIZE" in [c.operation for c in history]
    return sorted(c.version for c in history)


@pytest.mark.parametrize("properties", [{}, CDF_ON], ids=["plain", "cdf"])
def test_key_diff_equals_an_independent_diff(
    engine: StorageEngine, uri: str, properties: dict[str, str]
) -> None:
    versions = build_history(engine, uri, properties)
    reads = {version: engine.read(uri, version=version) for version in versions}
    rewrites = {c.version for c in engine.history(uri) if c.operation in ("RESTORE", "OPTIMIZE")}
    pairs = PAIRS[engine.capabilities.name](versions, rewrites)
    assert len(pairs) > len(versions)
    for from_version, to_version in pairs:
        diff = engine.key_diff(uri, SHAPE, from_version, to_version, sample_size=1000)
        expected = diff_of_reads(reads[from_version], reads[to_version])
        assert_matches(diff, expected, from_version, to_version)


def test_key_diff_of_a_version_with_itself_is_empty(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    diff = engine.key_diff(uri, SHAPE, 0, 0)
    assert (diff.added, diff.removed, diff.changed, diff.state_changes) == (0, 0, 0, {})


@pytest.mark.parametrize("properties", [{}, CDF_ON], ids=["plain", "cdf"])
def test_key_diff_names_state_transitions(
    engine: StorageEngine, uri: str, properties: dict[str, str]
) -> None:
    engine.create_table(uri, SCHEMA, properties=properties)
    engine.append(uri, rows(ids(0, 10)))
    engine.merge_upsert(uri, rows(ids(0, 6), deleted=ids(0, 4), purged=ids(4, 6)), key="accountid")
    diff = engine.key_diff(uri, SHAPE, 1, 2)
    assert diff.state_changes == {"active->deleted": 4, "active->purged": 2}
    assert diff.changed == 6
    assert diff.sample_changed == tuple(ids(0, 6))
    back = engine.key_diff(uri, SHAPE, 2, 1)
    assert back.state_changes == {"deleted->active": 4, "purged->active": 2}
    assert (back.from_version, back.to_version) == (2, 1)


@pytest.mark.parametrize("properties", [{}, CDF_ON], ids=["plain", "cdf"])
def test_key_diff_nets_changes_inside_the_range(
    engine: StorageEngine, uri: str, properties: dict[str, str]
) -> None:
    engine.create_table(uri, SCHEMA, properties=properties)
    engine.append(uri, rows(ids(0, 5)))
    engine.merge_upsert(uri, rows(["acc-0900"]), key="accountid")
    engine.update_where(uri, equals={"accountid": "acc-0002"}, values={"name": "tmp"})
    engine.update_where(uri, equals={"accountid": "acc-0002"}, values={"name": "name-acc-0002"})
    engine.update_where(uri, equals={"accountid": "acc-0003"}, values={"IsDeleted": True})
    engine.update_where(uri, equals={"accountid": "acc-0003"}, values={"IsDeleted": False})
    engine.restore(uri, 1, commit_metadata={"recovery_platform.reason": "undo insert"})
    diff = engine.key_diff(uri, SHAPE, 1, engine.state(uri).version)
    assert (diff.added, diff.removed, diff.changed, diff.state_changes) == (0, 0, 0, {})
    inner = engine.key_diff(uri, SHAPE, 1, 4)
    assert (inner.added, inner.changed, inner.sample_added) == (1, 0, ("acc-0900",))


def test_key_diff_samples_are_sorted_and_limited(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(20, 30)))
    engine.append(uri, rows(list(reversed(ids(0, 20)))))
    diff = engine.key_diff(uri, SHAPE, 0, 1, sample_size=3)
    assert diff.added == 20
    assert diff.sample_added == ("acc-0000", "acc-0001", "acc-0002")


def test_key_diff_across_schema_evolution(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 4)))
    evolved = rows(ids(0, 2)).append_column("segment", pa.array(["a", None]))
    latest = engine.merge_upsert(uri, evolved, key="accountid")
    assert_matches_independent_diff(engine, uri, 0, latest)
    diff = engine.key_diff(uri, SHAPE, 0, latest)
    assert diff.sample_changed == ("acc-0000",)
