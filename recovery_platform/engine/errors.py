"""Errors an engine raises, in words an operator can act on."""

from __future__ import annotations

from recovery_platform.engine.values import DuplicateKeys


class EngineError(Exception):
    """Base of every error raised through the engine seam."""


class TableNotFoundError(EngineError):
    """The location holds no Delta table."""


class UnsupportedTableFeatureError(EngineError):
    """The table uses a Delta feature this engine cannot handle; nothing was touched."""

    def __init__(self, uri: str, feature: str, engine: str) -> None:
        super().__init__(
            f"table {uri} uses the Delta feature '{feature}', which the {engine} engine cannot "
            f"handle safely; nothing was read or written. Use an engine that supports it."
        )
        self.feature = feature


class ConcurrentCommitError(EngineError):
    """Another writer committed to the table while this operation ran."""


class KeptFilesError(EngineError, NotImplementedError):
    """A vacuum would delete files that a kept version needs; nothing was deleted.

    Raised by engines that cannot spare single files (capability `vacuum_keep_versions=False`,
    Spark): they vacuum with `keep_versions` only when no kept file is among the candidates.
    """


class VersionNotAvailableError(EngineError):
    """The requested version's log or data files are gone (log cleanup or vacuum)."""


class DuplicateKeysError(EngineError):
    """A table version holds a key in more than one row, so no key-level answer is given.

    A key diff, a source diff or an impact measure nets changes per key: with a key held by
    several rows it cannot tell which of them appear, disappear or change, and would
    under-report. It refuses instead, naming the table, the version and some of the keys.
    """

    def __init__(self, uri: str, version: int, key: str, duplicates: DuplicateKeys) -> None:
        super().__init__(
            f"table {uri} holds duplicate primary keys at version {version}: "
            f"{duplicates.repeated_keys} values of {key} are each held by more than one row "
            f"({duplicates.extra_rows} extra rows), e.g. {', '.join(duplicates.sample_keys)}. "
            f"Key-level figures of such a version would be wrong, so none were computed and "
            f"nothing was written"
        )
        self.uri = uri
        self.version = version
        self.duplicates = duplicates
