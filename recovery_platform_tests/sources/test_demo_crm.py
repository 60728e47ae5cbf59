from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from recovery_platform.sources import (
    DEMO_TABLES,
    DayStats,
    DemoManifest,
    DemoScale,
    ExtractNotFoundError,
    LocalSnapshotSource,
    declared_schemas,
    generate_demo_crm,
)
from recovery_platform.sources.demo_crm.tables import MODELS

START = date(2025, 3, 1)
DAYS = 6
TABLES_YAML = Path(__file__).parents[2] / "recovery_platform" / "tables.yaml"


def _declared() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(TABLES_YAML.read_text())
    return {table["name"]: table for table in document["tables"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    root = tmp_path_factory.mktemp("landing")
    return generate_demo_crm(root, start=START, days=DAYS, scale=300, daily_churn=0.05)


def _read(manifest: DemoManifest, table: str, day: date) -> pa.Table:
    return pq.read_table(LocalSnapshotSource(manifest.landing_root).extract(table, day).uri)


def _keys(data: pa.Table, table: str) -> set[str]:
    return set(data.column(MODELS[table].key).to_pylist())


def test_writes_one_extract_per_table_and_day(demo: DemoManifest) -> None:
    source = LocalSnapshotSource(demo.landing_root)
    calendar = [START + timedelta(days=offset) for offset in range(DAYS)]

    assert demo.tables == DEMO_TABLES
    assert list(demo.days) == calendar
    for table in DEMO_TABLES:
        assert source.available_dates(table) == calendar
        for day in calendar:
            assert source.extract(table, day).rows == demo.stats(table, day).rows


def test_day_zero_has_the_documented_proportions(demo: DemoManifest) -> None:
    first = {table: demo.stats(table, START) for table in DEMO_TABLES}

    assert demo.scale == DemoScale(accounts=300, contacts=900, donations=1500, activities=1200)
    assert first["account"] == DayStats("account", START, 300, 300, 0, 0, 0)
    assert first["contact"].rows == first["contact"].inserted == 900
    assert first["donation"].rows == 1500
    assert first["activitypointer"].rows == 1200


def test_schema_is_exactly_what_tables_yaml_declares(demo: DemoManifest) -> None:
    arrow = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    declared = _declared()
    for table in DEMO_TABLES:
        expected = [(c["name"], arrow[c["type"]]) for c in declared[table]["columns"]]
        schema = _read(demo, table, START + timedelta(days=DAYS - 1)).schema
        assert [(field.name, field.type) for field in schema] == expected
        assert schema.equals(declared_schemas()[table])
        assert not {"IsDeleted", "IsPurged", "LastSynced"} & set(schema.names)


def test_model_relations_match_tables_yaml(demo: DemoManifest) -> None:
    declared = _declared()
    for table, model in MODELS.items():
        assert model.key == declared[table]["primary_key"]
        expected = {
            (r["column"], r["references"], r["on_violation"] == "error")
            for r in declared[table].get("relations", [])
        }
        assert {(r.column, r.parent, r.cascade) for r in model.relations} == expected


def test_manifest_counts_equal_an_independent_comparison_of_extracts(
    demo: DemoManifest,
) -> None:
    for table in DEMO_TABLES:
        key = MODELS[table].key
        seen: set[str] = set()
        previous: dict[str, dict[str, Any]] = {}
        for day in demo.days:
            rows = {row[key]: row for row in _read(demo, table, day).to_pylist()}
            current, before = set(rows), set(previous)
            new = current - before
            expected = DayStats(
                table=table,
                day=day,
                rows=len(rows),
                inserted=len(new - seen),
                updated=sum(rows[k] != previous[k] for k in current & before),
                deleted=len(before - current),
                reappeared=len(new & seen),
            )
            assert demo.stats(table, day) == expected
            seen |= current
            previous = rows


def test_every_kind_of_change_happens(demo: DemoManifest) -> None:
    for table in DEMO_TABLES:
        later = demo.for_table(table)[1:]
        assert all(s.inserted and s.updated and s.deleted for s in later), table
        assert sum(s.reappeared for s in later) > 0, table


def test_changes_are_stamped_with_the_day_they_happen(demo: DemoManifest) -> None:
    for table in DEMO_TABLES:
        key = MODELS[table].key
        seen = _keys(_read(demo, table, START), table)
        for yesterday, day in zip(demo.days, demo.days[1:], strict=False):
            before = {r[key]: r for r in _read(demo, table, yesterday).to_pylist()}
            rows = _read(demo, table, day).to_pylist()
            for row in rows:
                old = before.get(row[key])
                if row[key] not in seen:
                    assert row["createdon"].date() == day
                    assert row["modifiedon"] == row["createdon"]
                elif old is not None and old != row:
                    assert row["modifiedon"].date() == day
                    assert row["modifiedon"] > old["modifiedon"]
                assert row["modifiedon"] >= row["createdon"]
                assert row["createdon"].date() <= day
            seen |= {row[key] for row in rows}


@pytest.mark.parametrize("level", ["error", "warn"])
def test_relations_hold_among_the_rows_of_every_day(demo: DemoManifest, level: str) -> None:
    declared = _declared()
    checked = 0
    for table in DEMO_TABLES:
        for relation in declared[table].get("relations", []):
            if relation["on_violation"] != level:
                continue
            parent = relation["references"]
            for day in demo.days:
                referenced = _read(demo, table, day).column(relation["column"]).drop_null()
                present = _keys(_read(demo, parent, day), parent)
                assert set(referenced.to_pylist()) <= present, (table, relation, day)
                checked += 1
    assert checked > 0


def test_foreign_keys_are_mostly_filled(demo: DemoManifest) -> None:
    last = demo.days[-1]
    donations = _read(demo, "donation", last)
    contacts = _read(demo, "contact", last)

    assert donations.column("accountid").null_count == 0
    assert 0 < donations.column("contactid").null_count < donations.num_rows * 0.3
    assert 0 < contacts.column("parentcustomerid").null_count < contacts.num_rows * 0.15


def test_keys_are_unique_and_never_null(demo: DemoManifest) -> None:
    for table in DEMO_TABLES:
        column = _read(demo, table, demo.days[-1]).column(MODELS[table].key)
        assert column.null_count == 0
        assert len(pc.unique(column)) == len(column)
        assert all(len(k) == 36 and k.count("-") == 4 for k in column.to_pylist()[:50])


def test_same_seed_gives_identical_extracts(tmp_path: Path) -> None:
    options: dict[str, Any] = {"start": START, "days": 3, "scale": 50, "daily_churn": 0.1}
    first = generate_demo_crm(tmp_path / "a", **options)
    second = generate_demo_crm(tmp_path / "b", **options)
    generate_demo_crm(tmp_path / "c", seed=8, **options)

    assert first.entries == second.entries
    for table in DEMO_TABLES:
        for day in first.days:
            name = Path(table) / f"{day.isoformat()}.parquet"
            a = pq.read_table(tmp_path / "a" / name)
            assert a.equals(pq.read_table(tmp_path / "b" / name))
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
            assert not a.equals(pq.read_table(tmp_path / "c" / name))


def test_a_table_is_the_same_whichever_tables_are_written(tmp_path: Path) -> None:
    options: dict[str, Any] = {"start": START, "days": 3, "scale": 40, "daily_churn": 0.1}
    everything = generate_demo_crm(tmp_path / "all", **options)
    only = generate_demo_crm(tmp_path / "one", tables=["donation"], **options)

    assert only.tables == ("donation",)
    assert only.for_table("donation") == everything.for_table("donation")
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["donation"]
    for day in only.days:
        name = Path("donation") / f"{day.isoformat()}.parquet"
        assert pq.read_table(tmp_path / "one" / name).equals(pq.read_table(tmp_path / "all" / name))


def test_explicit_scale_and_zero_churn(tmp_path: Path) -> None:
    scale = DemoScale(accounts=10, contacts=0, donations=7, activities=1)
    manifest = generate_demo_crm(tmp_path, start=START, days=2, scale=scale, daily_churn=0.0)

    assert [(s.table, s.rows) for s in manifest.for_table("contact")] == [("contact", 0)] * 2
    assert manifest.stats("donation", START + timedelta(days=1)) == DayStats(
        "donation", START + timedelta(days=1), 7, 0, 0, 0, 0
    )
    assert _read(manifest, "donation", START).column("contactid").null_count == 7


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"days": 0}, "days"),
        ({"seed": -1}, "seed"),
        ({"daily_churn": 1.5}, "daily_churn"),
        ({"tables": ["account", "lead"]}, "table"),
        ({"tables": "account"}, "tables"),
    ],
)
def test_bad_arguments_name_the_field(tmp_path: Path, options: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"start": START, "days": 1, "scale": 5, **options}
    with pytest.raises(ValueError, match=f"field '{field}'"):
        generate_demo_crm(tmp_path, **arguments)


def test_unknown_manifest_entry_is_a_key_error(demo: DemoManifest) -> None:
    with pytest.raises(KeyError, match="lead"):
        demo.stats("lead", START)


def test_a_large_scale_generates(tmp_path: Path) -> None:
    manifest = generate_demo_crm(tmp_path, start=START, days=2, scale=20_000)

    assert manifest.stats("account", START).rows == 20_000
    assert manifest.stats("donation", START).rows == 100_000
    day_two = manifest.stats("donation", START + timedelta(days=1))
    assert day_two.inserted == 1_000
    assert day_two.updated >= 1_000


def test_missing_extract_error_from_a_generated_landing(demo: DemoManifest) -> None:
    with pytest.raises(ExtractNotFoundError, match="2025-03-01, 2025-03-02"):
        LocalSnapshotSource(demo.landing_root).extract("account", START - timedelta(days=1))


@pytest.mark.parametrize("accounts", [-3, 2.5, True])
def test_scale_must_be_a_whole_number_not_below_zero(tmp_path: Path, accounts: Any) -> None:
    with pytest.raises(ValueError, match="field 'accounts'"):
        generate_demo_crm(tmp_path, start=START, days=1, scale=accounts)
    with pytest.raises(ValueError, match="field 'donations'"):
        DemoScale(accounts=1, contacts=2, donations=-3, activities=4)
