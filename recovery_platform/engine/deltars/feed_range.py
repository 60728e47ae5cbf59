"""Whether the change data feed of a range of versions can answer a key diff exactly.

delta-rs reads the feed correctly for appends, merges, updates and deletes; a RESTORE, an
overwrite or a property change that could switch the feed off makes it doubtful, and then the
key diff scans both versions instead (`diff.py`).
"""

from __future__ import annotations

import json

from deltalake import DeltaTable

from recovery_platform.engine.deltars.table import history, uses_column_mapping
from recovery_platform.engine.values import CommitInfo

_CDF_SAFE_OPERATIONS = frozenset(
    {"WRITE", "MERGE", "UPDATE", "DELETE", "OPTIMIZE", "VACUUM START", "VACUUM END"}
)
_FEED_NEUTRAL_PROPERTIES = frozenset(
    {"delta.deletedFileRetentionDuration", "delta.logRetentionDuration",
     "delta.checkpointInterval", "delta.checkpointRetentionDuration"}
)
"""Properties whose change leaves the change data feed as it was (the retention rule sets them)."""


def cdf_usable(latest: DeltaTable, dt_low: DeltaTable, low: int, high: int) -> bool:
    """Whether the change data feed answers exactly for every commit in (low, high].

    It must be enabled at `low`, and every commit in the range must be one whose change data
    delta-rs reads correctly: no RESTORE, no property change other than retention settings
    (another could switch the feed off), no overwrite, nothing else doubtful; a gap in the
    history also disqualifies it.
    """
    if high <= low or uses_column_mapping(dt_low):
        return False
    config = dt_low.metadata().configuration
    if config.get("delta.enableChangeDataFeed", "false").lower() != "true":
        return False
    commits = {c.version: c for c in history(latest, latest.version() - low)}
    for version in range(low + 1, high + 1):
        commit = commits.get(version)
        if commit is not None and _feed_neutral_property_change(commit):
            continue
        if commit is None or commit.operation not in _CDF_SAFE_OPERATIONS:
            return False
        if commit.operation == "WRITE" and commit.parameters.get("mode") != "Append":
            return False
    return True


def _feed_neutral_property_change(commit: CommitInfo) -> bool:
    """A SET TBLPROPERTIES commit that only changes retention settings, as checkpoints do."""
    if commit.operation != "SET TBLPROPERTIES":
        return False
    try:
        changed = json.loads(commit.parameters.get("properties", ""))
    except ValueError:
        return False
    return isinstance(changed, dict) and bool(changed) and set(changed) <= _FEED_NEUTRAL_PROPERTIES
