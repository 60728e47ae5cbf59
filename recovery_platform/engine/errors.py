"""Errors an engine raises, in words an operator can act on."""

from __future__ import annotations

from recovery_platform.engine.values import DuplicateKeys


class EngineError(Exception):
    """Base of every error raised through the engine seam."""


class TableNotFoundError(EngineError):
    """The location holds no Delta table."""


class UnsupportedTableFeatureError(EngineError):
    """The table uses a Delta feature this engine cannot handle; nothing was touched."""

    def __init__(
        self, uri: str, feature: str, engine: str, *, operation: str | None = None,
        detail: str | None = None,
    ) -> None:
        what = f"cannot {operation} it" if operation else "cannot handle it safely"
        super().__init__(
            f"table {uri} uses the Delta feature '{feature}', and the {engine} engine {what}; "
            "nothing was read or written. Use an engine that supports it"
            + (f" ({detail})" if detail else ".")
        )
        self.uri = uri
        self.feature = feature


class ConcurrentCommitError(EngineError):
    """Another writer committed to the table while this operation ran; re-planning helps.

    Raised only for a real conflict with another commit: any other failed commit is a
    `CommitRefusedError`, so an operator is never sent re-planning in a loop.
    """

    @classmethod
    def during(cls, failed: str, cause: str) -> ConcurrentCommitError:
        """The one wording, after `failed` ("restore of <table> failed") and the library's cause."""
        return cls(f"{failed}: another writer committed to the table meanwhile; re-plan ({cause})")


class CommitRefusedError(EngineError):
    """The table refused the commit; nothing was committed and retrying will not help.

    The reason is the table's own: a constraint, an append-only table, a feature it cannot
    write, never another writer.
    """

    @classmethod
    def during(cls, failed: str, cause: str) -> CommitRefusedError:
        """The one wording for a commit the table refused, with the library's cause."""
        return cls(f"{failed}: the table refused the commit, and nothing was written; retrying "
                   f"will not help ({cause})")


class CorruptTableError(EngineError):
    """The table's log or one of its data files cannot be read as Delta or Parquet."""


class UnrepresentableValuesError(EngineError):
    """The table holds values this engine cannot read or rewrite exactly.

    It refuses rather than cast them to other values.
    """


class StorageUnreachableError(EngineError):
    """The storage holding the table could not be reached or refused access."""

    @classmethod
    def during(cls, failed: str, cause: str) -> StorageUnreachableError:
        """The one wording for storage that failed the call, with the library's cause."""
        return cls(f"{failed}: the storage could not be reached or refused access ({cause})")


class InvalidRequestError(EngineError, ValueError):
    """An argument the operation cannot accept (an unknown column, a too-short retention).

    Also a `ValueError`, the error callers validating input already expect.
    """


class KeptFilesError(EngineError, NotImplementedError):
    """A vacuum would delete files that a kept version needs; nothing was deleted.

    Raised by engines that cannot spare single files (capability `vacuum_keep_versions=False`,
    Spark): they vacuum with `keep_versions` only when no kept file is among the candidates.
    """


class VersionNotAvailableError(EngineError):
    """The requested version's log or data files are gone (log cleanup or vacuum)."""


def log_retention_message(uri: str, version: int | None) -> str:
    """The one wording for a version whose commit the table's log no longer holds."""
    return (
        f"version {version} of {uri} is no longer in the table's log (log retention): its "
        "commit was cleaned up, so it can be neither read nor restored"
    )


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
