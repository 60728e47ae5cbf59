from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recovery_platform.sources import (
    ExtractNotFoundError,
    LocalSnapshotSource,
    SourceConnector,
    SourceExtract,
    extract_path,
    validate_table_name,
)


def _land(root: Path, table: str, day: date, rows: int) -> None:
    folder = root / table
    folder.mkdir(parents=True, exist_ok=True)
    data = pa.table({"accountid": [f"a{i}" for i in range(rows)]})
    pq.write_table(data, folder / f"{day.isoformat()}.parquet")


def test_lists_dates_oldest_first_and_ignores_other_files(tmp_path: Path) -> None:
    for day in (date(2025, 1, 3), date(2025, 1, 1), date(2025, 1, 2)):
        _land(tmp_path, "account", day, 2)
    (tmp_path / "account" / "notes.parquet").write_text("not an extract")
    (tmp_path / "account" / "20250104.parquet").write_text("not our naming")
    (tmp_path / "account" / "2025-01-05.csv").write_text("wrong format")
    source = LocalSnapshotSource(tmp_path)

    assert isinstance(source, SourceConnector)
    assert source.available_dates("account") == [
        date(2025, 1, 1),
        date(2025, 1, 2),
        date(2025, 1, 3),
    ]
    assert source.available_dates("contact") == []


def test_extract_points_at_the_file_and_counts_its_rows(tmp_path: Path) -> None:
    _land(tmp_path, "account", date(2025, 1, 2), 5)

    extract = LocalSnapshotSource(tmp_path).extract("account", date(2025, 1, 2))

    assert extract == SourceExtract(
        table="account",
        extract_date=date(2025, 1, 2),
        uri=str((tmp_path / "account" / "2025-01-02.parquet").resolve()),
        rows=5,
    )
    assert pq.read_table(extract.uri).num_rows == 5


def test_missing_extract_names_table_date_and_available_dates(tmp_path: Path) -> None:
    _land(tmp_path, "account", date(2025, 1, 1), 1)
    _land(tmp_path, "account", date(2025, 1, 3), 1)

    with pytest.raises(ExtractNotFoundError) as raised:
        LocalSnapshotSource(tmp_path).extract("account", date(2025, 1, 2))

    message = str(raised.value)
    assert "account" in message
    assert "2025-01-02" in message
    assert "2025-01-01, 2025-01-03" in message
    assert raised.value.available == (date(2025, 1, 1), date(2025, 1, 3))


def test_missing_table_says_no_dates_are_available(tmp_path: Path) -> None:
    with pytest.raises(ExtractNotFoundError, match="available dates: none"):
        LocalSnapshotSource(tmp_path).extract("donation", date(2025, 1, 2))


@pytest.mark.parametrize(
    "bad", ["../account", "Account", "", "account/x", "1account", "account\n", "acc-ount", " "]
)
def test_malformed_table_names_are_refused_before_any_path_is_built(
    tmp_path: Path, bad: str
) -> None:
    source = LocalSnapshotSource(tmp_path)

    for call in (
        lambda: source.available_dates(bad),
        lambda: source.extract(bad, date(2025, 1, 1)),
        lambda: extract_path(tmp_path, bad, date(2025, 1, 1)),
    ):
        with pytest.raises(ValueError, match=r"field 'table'.*\[a-z\]\[a-z0-9_\]\*"):
            call()


def test_tables_outside_the_allowlist_are_refused_naming_the_allowed_values(
    tmp_path: Path,
) -> None:
    _land(tmp_path, "secret", date(2025, 1, 1), 1)
    source = LocalSnapshotSource(tmp_path, allowed_tables=["contact", "account"])

    with pytest.raises(ValueError) as raised:
        source.extract("secret", date(2025, 1, 1))

    assert str(raised.value) == (
        "invalid value for field 'table': 'secret'; allowed values: account, contact"
    )
    assert source.available_dates("account") == []


def test_validate_table_name_returns_the_name() -> None:
    assert validate_table_name("activitypointer") == "activitypointer"
    assert validate_table_name("account", {"account"}) == "account"
