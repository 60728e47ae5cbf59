"""The Delta protocol a table demands, and whether an engine may touch it.

An engine handles a table safely only when it understands every feature the table's protocol
requires: a reader that ignores deletion vectors returns deleted rows, and a writer that ignores
identity columns or row tracking writes commits other engines reject. So each engine declares
the features it supports (`EngineCapabilities.reader_features` / `writer_features`, an allowlist)
and every operation refuses a table needing anything else before reading or writing.

Tables written before table features existed declare only protocol versions; each version
implies a set of features (the Delta protocol's "legacy" features), listed here so that the
allowlist covers them by name too. A version beyond the last one this module knows is itself
reported as an unsupported feature, since nothing can be assumed about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "LEGACY_READER_FEATURES",
    "LEGACY_WRITER_FEATURES",
    "WRITER_ONLY_FEATURES",
    "TableProtocol",
]

LEGACY_READER_FEATURES: dict[int, frozenset[str]] = {
    1: frozenset(),
    2: frozenset({"columnMapping"}),
}
"""Features implied by each reader version before table features (reader version 3)."""

_W2 = frozenset({"appendOnly", "invariants"})
_W3 = _W2 | {"checkConstraints"}
_W4 = _W3 | {"changeDataFeed", "generatedColumns"}
_W5 = _W4 | {"columnMapping"}
_W6 = _W5 | {"identityColumns"}
LEGACY_WRITER_FEATURES: dict[int, frozenset[str]] = {
    1: frozenset(),
    2: _W2,
    3: _W3,
    4: _W4,
    5: _W5,
    6: _W6,
}
"""Features implied by each writer version before table features (writer version 7)."""

WRITER_ONLY_FEATURES = frozenset({
    "appendOnly", "invariants", "checkConstraints", "changeDataFeed", "generatedColumns",
    "identityColumns", "domainMetadata", "rowTracking", "inCommitTimestamp", "clustering",
    "icebergCompatV1", "icebergCompatV2", "allowColumnDefaults", "checkpointProtection",
    "icebergWriterCompatV1",
})
"""Features only writers must understand (the Delta protocol's writer-only table features).

Engines that report one union of features (Spark's `DESCRIBE DETAIL`) are split by this list;
a feature not on it counts as a reader feature too, so an unknown one is refused for reading."""

TABLE_FEATURES_READER_VERSION = 3
TABLE_FEATURES_WRITER_VERSION = 7


@dataclass(frozen=True)
class TableProtocol:
    """A table's protocol action: versions, and the explicit feature lists of newer tables."""

    min_reader_version: int
    min_writer_version: int
    reader_features: frozenset[str] = frozenset()
    writer_features: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        min_reader_version: int,
        min_writer_version: int,
        reader_features: Iterable[str] | None = None,
        writer_features: Iterable[str] | None = None,
    ) -> TableProtocol:
        """A protocol from the values an engine reports (feature lists may be None)."""
        return cls(
            int(min_reader_version),
            int(min_writer_version),
            frozenset(reader_features or ()),
            frozenset(writer_features or ()),
        )

    @classmethod
    def of_union(
        cls, min_reader_version: int, min_writer_version: int, features: Iterable[str]
    ) -> TableProtocol:
        """A protocol from one list naming every feature, reader and writer ones together."""
        named = frozenset(features)
        readers = named - WRITER_ONLY_FEATURES if min_reader_version >= 3 else frozenset()
        return cls(int(min_reader_version), int(min_writer_version), readers, named)

    def features_to_read(self) -> frozenset[str]:
        """Every feature a reader must understand, legacy ones included."""
        version = self.min_reader_version
        if version >= TABLE_FEATURES_READER_VERSION:
            beyond = version > TABLE_FEATURES_READER_VERSION
            return self.reader_features | ({f"readerVersion{version}"} if beyond else set())
        return LEGACY_READER_FEATURES.get(version, frozenset({f"readerVersion{version}"}))

    def features_to_write(self) -> frozenset[str]:
        """Every feature a writer must understand (a writer also reads), legacy ones included."""
        version = self.min_writer_version
        if version >= TABLE_FEATURES_WRITER_VERSION:
            beyond = version > TABLE_FEATURES_WRITER_VERSION
            written = self.writer_features | ({f"writerVersion{version}"} if beyond else set())
        else:
            written = LEGACY_WRITER_FEATURES.get(version, frozenset({f"writerVersion{version}"}))
        return written | self.features_to_read()

    def first_unsupported(
        self, supported_to_read: frozenset[str], supported_to_write: frozenset[str], *,
        writing: bool,
    ) -> str | None:
        """The first feature (by name) the engine lacks for this access, or None.

        Reading needs every reader feature supported for reading; writing (a restore, a
        commit, a vacuum) needs every feature the table names supported for writing.
        """
        unsupported = set(self.features_to_read() - supported_to_read)
        if writing:
            unsupported |= self.features_to_write() - supported_to_write
        return min(unsupported) if unsupported else None
