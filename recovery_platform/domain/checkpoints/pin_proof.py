"""Proving one pinned version is still restorable, from the data alone.

A checkpoint is only as good as the files and log entries its versions need. The proof reads
them again through an engine that remembers nothing (`StorageEngine.without_memory`): a
remembered count or fingerprint would prove only that the engine once saw the version, not that
storage still holds it. Each distinct (table, version, table id) is read once per check, however
many checkpoints pin it, and each pin is then judged against its own recorded counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from recovery_platform.domain.checkpoints.history import PinnedTable, format_fingerprint
from recovery_platform.engine import (
    EngineError,
    RowCounts,
    StorageEngine,
    StorageUnreachableError,
    TableShape,
)

COUNT_FIELDS = ("total", "active", "deleted", "purged", "null_keys")
"""The counts a pin records; how they were computed (`method`) is not part of the proof."""


@dataclass(frozen=True)
class Found:
    """What storage says about one (table, version, table id) right now."""

    log_loads: bool
    table_id_matches: bool | None = None
    missing_files: int | None = None
    counts: RowCounts | None = None
    fingerprint: int | None = None
    problem: str | None = None
    """Why the version cannot be restored whatever was recorded; None when it can."""
    unreachable: bool = False
    """Storage could not be reached: nothing was proven either way."""


@dataclass(frozen=True)
class PinVerdict:
    """One checkpoint's pin of one table, as the integrity check judged it."""

    table: str
    version: int
    restorable: bool
    found: Found
    counts_match: bool | None
    fingerprint_matches: bool | None
    reasons: tuple[str, ...]

    @property
    def inconclusive(self) -> bool:
        """Storage was unreachable: the pin is neither proven nor disproven."""
        return self.found.unreachable

    @property
    def reason(self) -> str | None:
        """The reasons in one line, None when the pin is restorable."""
        return "; ".join(self.reasons) or None


def examine(
    engine: StorageEngine, uri: str, shape: TableShape, version: int, table_id: str, *, deep: bool
) -> Found:
    """Log, table id, data files, counts (and in `deep` mode the fingerprint) of a version.

    An engine error is the answer for this version, never raised: the other pins go on.
    """
    try:
        latest = engine.state(uri)
    except EngineError as exc:
        return _failed(exc, Found(log_loads=False), "the table cannot be read")
    same_id = latest.table_id == table_id
    try:
        at = engine.state(uri, version)
    except EngineError as exc:
        recreated = "" if same_id else f" (the table was recreated: its id is not {table_id})"
        return _failed(exc, Found(log_loads=False, table_id_matches=same_id),
                       f"the log of version {version} does not load{recreated}")
    loaded = Found(log_loads=True, table_id_matches=same_id and at.table_id == table_id)
    try:
        return _read(engine, uri, shape, version, table_id, loaded, deep=deep)
    except EngineError as exc:
        return _failed(exc, loaded, f"version {version} cannot be read")


def _failed(exc: EngineError, found: Found, what: str) -> Found:
    """The error as the version's answer; unreachable storage proves nothing either way."""
    unreachable = isinstance(exc, StorageUnreachableError)
    why = "storage unreachable, not checked" if unreachable else what
    return replace(found, problem=f"{why}: {type(exc).__name__}: {exc}", unreachable=unreachable)


def _read(
    engine: StorageEngine,
    uri: str,
    shape: TableShape,
    version: int,
    table_id: str,
    loaded: Found,
    *,
    deep: bool,
) -> Found:
    """Files and id through `is_restorable`, then counts (and fingerprint) read from the data."""
    check = engine.is_restorable(uri, version, table_id)
    if not check.restorable:
        return replace(loaded, missing_files=check.missing_files, problem=check.reason)
    if deep:
        counts, fingerprint = engine.counts_and_fingerprint(uri, shape, version)
        return replace(loaded, missing_files=0, counts=counts, fingerprint=fingerprint)
    return replace(loaded, missing_files=0, counts=engine.row_counts(uri, shape, version))


def judge(pin: PinnedTable, found: Found) -> PinVerdict:
    """Compare what storage holds now with what the pin recorded."""
    reasons = [found.problem] if found.problem else []
    counts_match = None
    if found.counts is not None:
        now = {f: getattr(found.counts, f) for f in COUNT_FIELDS}
        recorded = {f: getattr(pin.counts, f) for f in COUNT_FIELDS}
        counts_match = now == recorded
        if not counts_match:
            reasons.append(f"counts at version {pin.version} are {now}, recorded {recorded}")
    fingerprint_matches = None
    if found.fingerprint is not None:
        fingerprint_matches = found.fingerprint == pin.fingerprint
        if not fingerprint_matches:
            reasons.append(
                f"fingerprint at version {pin.version} is {format_fingerprint(found.fingerprint)}"
                f", recorded {format_fingerprint(pin.fingerprint)} (the data files changed)"
            )
    return PinVerdict(
        table=pin.table, version=pin.version, restorable=not reasons, found=found,
        counts_match=counts_match, fingerprint_matches=fingerprint_matches,
        reasons=tuple(reasons),
    )
