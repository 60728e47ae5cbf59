"""A source that reads daily extracts already landed in a local folder (the demo and tests)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from recovery_platform.sources.connector import (
    ExtractNotFoundError,
    SourceConnector,
    SourceExtract,
    validate_table_name,
)


def extract_path(landing_root: str | Path, table: str, day: date) -> Path:
    """Where the extract of `table` for `day` lives: `<landing_root>/<table>/<YYYY-MM-DD>.parquet`.

    The table name is validated here, so no caller can build a path from an unchecked string.
    """
    return Path(landing_root) / validate_table_name(table) / f"{day.isoformat()}.parquet"


class LocalSnapshotSource(SourceConnector):
    """Daily full extracts stored as `<landing_root>/<table>/<YYYY-MM-DD>.parquet`.

    Args:
        landing_root: The folder extracts are landed in.
        allowed_tables: If given, the only table names this source answers for.
    """

    def __init__(
        self, landing_root: str | Path, *, allowed_tables: Collection[str] | None = None
    ) -> None:
        self.landing_root = Path(landing_root)
        self.allowed_tables = frozenset(allowed_tables) if allowed_tables is not None else None

    def available_dates(self, table: str) -> list[date]:
        """The days with an extract of `table`, oldest first; other files are ignored."""
        folder = self._table_folder(table)
        if not folder.is_dir():
            return []
        days = []
        for path in folder.glob("*.parquet"):
            try:
                day = date.fromisoformat(path.stem)
            except ValueError:
                continue
            if day.isoformat() == path.stem:
                days.append(day)
        return sorted(days)

    def extract(self, table: str, day: date) -> SourceExtract:
        """The extract of `table` for `day`; its row count comes from the Parquet footer."""
        path = self._table_folder(table) / f"{day.isoformat()}.parquet"
        if not path.is_file():
            raise ExtractNotFoundError(table, day, self.available_dates(table))
        rows = pq.read_metadata(path).num_rows
        return SourceExtract(table=table, extract_date=day, uri=str(path.resolve()), rows=rows)

    def _table_folder(self, table: str) -> Path:
        return self.landing_root / validate_table_name(table, self.allowed_tables)
