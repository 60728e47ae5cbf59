"""The four demo CRM tables: how new records look, how an update changes them, how they render.

Each model knows only integer codes (see `Records`); rendering turns the present records into
the Arrow columns tables.yaml declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

import recovery_platform.sources.demo_crm.vocabulary as words
from recovery_platform.sources.demo_crm.records import Records, draw_present
from recovery_platform.sources.demo_crm.values import (
    MICROS_PER_DAY,
    dates,
    join_words,
    lower,
    pick,
)

Codes = dict[str, np.ndarray]
Columns = dict[str, pa.Array | pa.ChunkedArray]
KeyMaker = Callable[[str, np.ndarray, "np.ndarray | None"], pa.ChunkedArray]


@dataclass(frozen=True)
class Relation:
    """A foreign key and what happens to dependents when the referenced record disappears.

    `cascade` (error-level relations): dependents vanish with their parent, and a dependent that
    reappears while its parent is gone is re-pointed. Otherwise the link is removed (set null),
    as Dataverse does for referential lookups.
    """

    column: str
    parent: str
    cascade: bool


class TableModel(ABC):
    """One demo table's content rules."""

    name: str
    key: str
    relations: tuple[Relation, ...] = ()

    @abstractmethod
    def new(self, rng: np.random.Generator, count: int, parents: Mapping[str, Records]) -> Codes:
        """Codes of `count` new records, referencing present parents."""

    @abstractmethod
    def change(self, rng: np.random.Generator, records: Records, numbers: np.ndarray) -> None:
        """Change a business field of `numbers` in place (an update in the CRM)."""

    @abstractmethod
    def render(self, records: Records, numbers: np.ndarray, keys: KeyMaker) -> Columns:
        """The data columns of `numbers`, without the key and the audit timestamps."""


def _shift(rng: np.random.Generator, codes: np.ndarray, size: int) -> np.ndarray:
    """Codes moved to a different value in `range(size)`: an update that really changes."""
    return (codes + rng.integers(1, size, len(codes))) % size


def _fk(keys: KeyMaker, table: str, numbers: np.ndarray) -> pa.ChunkedArray:
    return keys(table, np.maximum(numbers, 0), numbers >= 0)


class AccountModel(TableModel):
    """Organisations: donors, partners and grant makers."""

    name = "account"
    key = "accountid"

    def new(self, rng: np.random.Generator, count: int, parents: Mapping[str, Records]) -> Codes:
        """Random name parts, city and industry."""
        return {
            "prefix": rng.integers(0, len(words.PREFIXES), count),
            "noun": rng.integers(0, len(words.NOUNS), count),
            "suffix": rng.integers(0, len(words.SUFFIXES), count),
            "city": rng.integers(0, len(words.CITIES), count),
            "industry": rng.integers(0, len(words.INDUSTRIES), count),
        }

    def change(self, rng: np.random.Generator, records: Records, numbers: np.ndarray) -> None:
        """Accounts move city or change industry."""
        moves = rng.random(len(numbers)) < 0.5
        moved, other = numbers[moves], numbers[~moves]
        records.attrs["city"][moved] = _shift(rng, records.attrs["city"][moved], len(words.CITIES))
        industry = records.attrs["industry"]
        industry[other] = _shift(rng, industry[other], len(words.INDUSTRIES))

    def render(self, records: Records, numbers: np.ndarray, keys: KeyMaker) -> Columns:
        """Name, city and industry."""
        codes = {name: values[numbers] for name, values in records.attrs.items()}
        name = join_words(
            " ",
            pick(words.PREFIXES, codes["prefix"]),
            pick(words.NOUNS, codes["noun"]),
            pick(words.SUFFIXES, codes["suffix"]),
        )
        return {
            "name": name,
            "city": pick(words.CITIES, codes["city"]),
            "industry": pick(words.INDUSTRIES, codes["industry"]),
        }


class ContactModel(TableModel):
    """People, most of them attached to an account."""

    name = "contact"
    key = "contactid"
    relations = (Relation("parentcustomerid", "account", cascade=True),)

    def new(self, rng: np.random.Generator, count: int, parents: Mapping[str, Records]) -> Codes:
        """Random names; 95% belong to a present account."""
        return {
            "parentcustomerid": draw_present(rng, parents["account"], count, null_share=0.05),
            "first": rng.integers(0, len(words.FIRST), count),
            "last": rng.integers(0, len(words.LAST), count),
            "domain": rng.integers(0, len(words.DOMAINS), count),
        }

    def change(self, rng: np.random.Generator, records: Records, numbers: np.ndarray) -> None:
        """Contacts change e-mail provider."""
        domain = records.attrs["domain"]
        domain[numbers] = _shift(rng, domain[numbers], len(words.DOMAINS))

    def render(self, records: Records, numbers: np.ndarray, keys: KeyMaker) -> Columns:
        """Parent account, full name and e-mail."""
        first = pick(words.FIRST, records.attrs["first"][numbers])
        last = pick(words.LAST, records.attrs["last"][numbers])
        mailbox = lower(join_words(".", first, last))
        return {
            "parentcustomerid": _fk(keys, "account", records.attrs["parentcustomerid"][numbers]),
            "fullname": join_words(" ", first, last),
            "emailaddress1": join_words(
                "@", mailbox, pick(words.DOMAINS, records.attrs["domain"][numbers])
            ),
        }


class DonationModel(TableModel):
    """Gifts, each from an account and usually through one of its contacts."""

    name = "donation"
    key = "donationid"
    relations = (
        Relation("accountid", "account", cascade=True),
        Relation("contactid", "contact", cascade=False),
    )

    def new(self, rng: np.random.Generator, count: int, parents: Mapping[str, Records]) -> Codes:
        """A present contact (10% none) and its account, else a random present account."""
        contact = draw_present(rng, parents["contact"], count, null_share=0.10)
        account = np.full(count, -1, dtype=np.int64)
        linked = contact >= 0
        account[linked] = parents["contact"].attrs["parentcustomerid"][contact[linked]]
        missing = account < 0
        account[missing] = draw_present(rng, parents["account"], int(missing.sum()))
        return {
            "accountid": account,
            "contactid": contact,
            "cents": np.round(rng.lognormal(3.5, 1.0, count) * 100).astype(np.int64) + 100,
            "currency": rng.choice(len(words.CURRENCIES), count, p=words.CURRENCY_WEIGHTS),
            "days_before": rng.integers(0, 15, count),
        }

    def change(self, rng: np.random.Generator, records: Records, numbers: np.ndarray) -> None:
        """Amounts get corrected."""
        cents = records.attrs["cents"]
        cents[numbers] = cents[numbers] + rng.integers(1, 5_000, len(numbers))

    def render(self, records: Records, numbers: np.ndarray, keys: KeyMaker) -> Columns:
        """Account, contact, amount, currency and the day of the gift."""
        created_day = records.created[numbers] // MICROS_PER_DAY
        return {
            "accountid": _fk(keys, "account", records.attrs["accountid"][numbers]),
            "contactid": _fk(keys, "contact", records.attrs["contactid"][numbers]),
            "amount": pa.array(records.attrs["cents"][numbers] / 100.0, type=pa.float64()),
            "currency": pick(words.CURRENCIES, records.attrs["currency"][numbers]),
            "donatedon": dates(created_day - records.attrs["days_before"][numbers]),
        }


class ActivityModel(TableModel):
    """E-mails, calls and meetings, regarding an account."""

    name = "activitypointer"
    key = "activityid"
    relations = (Relation("regardingobjectid", "account", cascade=False),)

    def new(self, rng: np.random.Generator, count: int, parents: Mapping[str, Records]) -> Codes:
        """A present account (5% none), a type, a subject and a duration."""
        return {
            "regardingobjectid": draw_present(rng, parents["account"], count, null_share=0.05),
            "type": rng.integers(0, len(words.ACTIVITY_TYPES), count),
            "subject": rng.integers(0, len(words.SUBJECTS), count),
            "minutes": rng.integers(5, 121, count),
        }

    def change(self, rng: np.random.Generator, records: Records, numbers: np.ndarray) -> None:
        """Activities get rescheduled to a different length."""
        minutes = records.attrs["minutes"]
        minutes[numbers] = minutes[numbers] + rng.integers(5, 60, len(numbers))

    def render(self, records: Records, numbers: np.ndarray, keys: KeyMaker) -> Columns:
        """What the activity regards, its type, subject and duration."""
        return {
            "regardingobjectid": _fk(keys, "account", records.attrs["regardingobjectid"][numbers]),
            "activitytypecode": pick(words.ACTIVITY_TYPES, records.attrs["type"][numbers]),
            "subject": pick(words.SUBJECTS, records.attrs["subject"][numbers]),
            "durationminutes": pa.array(records.attrs["minutes"][numbers], type=pa.int64()),
        }


MODELS: dict[str, TableModel] = {
    model.name: model
    for model in (AccountModel(), ContactModel(), DonationModel(), ActivityModel())
}
"""The demo tables, parents before dependents."""
