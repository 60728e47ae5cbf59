"""A small lakehouse whose every table breaks one invariant, built through real writes.

Day 1 syncs clean extracts of all four tables. Before day 2:
- account gets a row both deleted and purged (written directly, as a faulty job would);
- contact's bronze table was created with a nullable key, and gets a row with a null key;
- activitypointer gets an undeclared column (schema drift from a manual write), and its day-2
  extract references a missing account through a warn-level relation (reported, not failing);
- donation's day-2 extract references a missing account (error relation) and a missing
  contact (warn relation).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from recovery_platform.domain.lakehouse.location import PLATFORM_TABLE_PROPERTIES, Lakehouse
from recovery_platform_tests.domain.extracts import (
    bronze_row,
    extract_rows,
    keys,
    land,
    land_small_crm,
)

ROWS = 20
BOTH_FLAGS_KEY = "account-both"
ORPHAN_ACCOUNT = "account-9999"
ORPHAN_CONTACT = "contact-9999"
EXTRA_COLUMN = "legacy_code"
WARN_ORPHAN_ACCOUNT = "account-8888"


def prepare_clean_day(lakehouse: Lakehouse, landing: Path, day1: date) -> None:
    """Land day 1 and create contact with a nullable key (as a migrated table might be)."""
    land_small_crm(landing, day1, ROWS)
    spec = lakehouse.config.table("contact")
    nullable = pa.schema([f.with_nullable(True) for f in spec.bronze_schema()])
    lakehouse.engine.create_table(
        lakehouse.bronze_uri("contact"), nullable, properties=PLATFORM_TABLE_PROPERTIES
    )


def break_every_invariant(lakehouse: Lakehouse, landing: Path, day2: date) -> None:
    """After day 1 is synced: write the faulty rows and land day 2's extracts."""
    engine = lakehouse.engine
    land_small_crm(landing, day2, ROWS)
    engine.append(
        lakehouse.bronze_uri("account"),
        bronze_row(lakehouse, "account", BOTH_FLAGS_KEY, IsDeleted=True, IsPurged=True),
    )
    engine.append(lakehouse.bronze_uri("contact"), bronze_row(lakehouse, "contact", None))
    engine.merge_upsert(
        lakehouse.bronze_uri("activitypointer"),
        bronze_row(lakehouse, "activitypointer", "activitypointer-0000", **{EXTRA_COLUMN: "L1"}),
        key="activityid",
    )
    ids = keys("donation", 0, ROWS + 2)
    accounts = ["account-0000"] * ROWS + [ORPHAN_ACCOUNT, "account-0001"]
    contacts = ["contact-0000"] * (ROWS + 1) + [ORPHAN_CONTACT]
    donations = extract_rows(
        "donation", ids, parents={"accountid": accounts, "contactid": contacts}
    )
    land(landing, "donation", day2, donations)
    regarding = ["account-0000"] * (ROWS - 1) + [WARN_ORPHAN_ACCOUNT]
    activities = extract_rows(
        "activitypointer",
        keys("activitypointer", 0, ROWS),
        parents={"regardingobjectid": regarding},
    )
    land(landing, "activitypointer", day2, activities)
