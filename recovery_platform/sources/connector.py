"""The source-connector seam: where the daily sync gets one table's full extract for one day.

The sync never talks to the CRM directly. A connector lands each table's extract as a Parquet
file (data columns only, no tracking columns) and hands back a `SourceExtract` pointing at it.
The local snapshot source does this for the demo and tests; a Dataverse connector would land its
extracts into the same shape.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

TABLE_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
"""What a table name may look like before it is ever used to build a path or a URI."""


@dataclass(frozen=True)
class SourceExtract:
    """The full extract of one table for one day, landed as a Parquet file.

    Attributes:
        table: The validated table name.
        extract_date: The day the extract represents.
        uri: Path or URI of the Parquet file; data columns only, no tracking columns.
        rows: Number of rows in the file, read from its footer.
    """

    table: str
    extract_date: date
    uri: str
    rows: int


class ExtractNotFoundError(LookupError):
    """No extract exists for the table and day asked for; says which days do exist."""

    def __init__(self, table: str, day: date, available: Sequence[date]) -> None:
        shown = ", ".join(d.isoformat() for d in available) if available else "none"
        super().__init__(
            f"no extract of table '{table}' for {day.isoformat()}; available dates: {shown}"
        )
        self.table = table
        self.day = day
        self.available = tuple(available)


def validate_table_name(table: str, allowed: Collection[str] | None = None) -> str:
    """Return `table` if it is a safe, allowed table name, so paths are built from it only.

    Args:
        table: The name to check.
        allowed: If given, the only names accepted.

    Raises:
        ValueError: Naming the field `table` and what is allowed.
    """
    if allowed is not None:
        if table not in allowed:
            choices = ", ".join(sorted(allowed)) or "none"
            raise ValueError(
                f"invalid value for field 'table': {table!r}; allowed values: {choices}"
            )
    if not isinstance(table, str) or TABLE_NAME_PATTERN.fullmatch(table) is None:
        raise ValueError(
            f"invalid value for field 'table': {table!r}; "
            f"a table name must match {TABLE_NAME_PATTERN.pattern}"
        )
    return table


class SourceConnector(ABC):
    """Where daily full extracts of CRM tables come from."""

    @abstractmethod
    def available_dates(self, table: str) -> list[date]:
        """The days for which an extract of `table` exists, oldest first."""

    @abstractmethod
    def extract(self, table: str, day: date) -> SourceExtract:
        """The extract of `table` for `day`.

        Raises:
            ExtractNotFoundError: If there is none; it lists the dates that are available.
            ValueError: If `table` is not a valid, allowed table name.
        """
