from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from recovery_platform.sources import (
    ExtractNotFoundError,
    LocalSnapshotSource,
    generate_demo_crm,
    write_bad_sync_extract,
)

START = date(2025, 3, 1)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    generate_demo_crm(tmp_path, start=START, days=2, scale=100, tables=["account", "contact"])
    return tmp_path


def _keys(uri: str, key: str) -> set[str]:
    return set(pq.read_table(uri).column(key).to_pylist())


def test_next_day_loses_the_given_share_of_the_latest_extract(landing: Path) -> None:
    source = LocalSnapshotSource(landing)
    latest = source.extract("contact", START + timedelta(days=1))
    bad_day = START + timedelta(days=2)

    bad = write_bad_sync_extract(landing, "contact", bad_day, drop_fraction=0.4)

    assert bad.base_day == latest.extract_date
    assert bad.base_rows == latest.rows
    assert bad.dropped == round(latest.rows * 0.4)
    assert bad.extract == source.extract("contact", bad_day)
    assert bad.extract.rows == latest.rows - bad.dropped
    kept = _keys(bad.extract.uri, "contactid")
    assert kept < _keys(latest.uri, "contactid")
    assert pq.read_schema(bad.extract.uri).equals(pq.read_schema(latest.uri))


def test_an_existing_day_is_overwritten_from_its_own_rows(landing: Path) -> None:
    good = pq.read_table(LocalSnapshotSource(landing).extract("account", START).uri)

    bad = write_bad_sync_extract(landing, "account", START, drop_fraction=0.5, seed=3)

    assert bad.base_day == START
    assert bad.extract.rows == good.num_rows - round(good.num_rows * 0.5)
    assert LocalSnapshotSource(landing).extract("account", START).rows == bad.extract.rows
    assert not [p for p in (landing / "account").iterdir() if p.name.startswith(".")]


def test_dropping_everything_gives_an_empty_extract_with_the_schema(landing: Path) -> None:
    bad = write_bad_sync_extract(landing, "account", START, drop_fraction=1.0)

    data = pq.read_table(bad.extract.uri)
    assert data.num_rows == 0
    assert data.schema.names[0] == "accountid"


def test_same_seed_drops_the_same_rows(tmp_path: Path) -> None:
    kept = []
    for name in ("a", "b"):
        generate_demo_crm(tmp_path / name, start=START, days=1, scale=50, tables=["account"])
        bad = write_bad_sync_extract(tmp_path / name, "account", START, drop_fraction=0.3)
        kept.append(pq.read_table(bad.extract.uri))
    assert kept[0].equals(kept[1])


def test_needs_an_extract_on_or_before_the_day(landing: Path) -> None:
    with pytest.raises(ExtractNotFoundError, match="donation"):
        write_bad_sync_extract(landing, "donation", START, drop_fraction=0.5)
    with pytest.raises(ExtractNotFoundError, match="available dates: 2025-03-01, 2025-03-02"):
        write_bad_sync_extract(landing, "account", START - timedelta(days=1), drop_fraction=0.5)


@pytest.mark.parametrize("fraction", [-0.1, 1.1])
def test_drop_fraction_must_be_a_share(landing: Path, fraction: float) -> None:
    with pytest.raises(ValueError, match="field 'drop_fraction'"):
        write_bad_sync_extract(landing, "account", START, drop_fraction=fraction)


def test_table_names_are_validated(landing: Path) -> None:
    with pytest.raises(ValueError, match="field 'table'"):
        write_bad_sync_extract(landing, "../account", START, drop_fraction=0.5)
