"""The only SQL text the Spark engine writes, and the checks that keep user strings out of it.

Everything else goes through the Delta Lake Python API with Column expressions. Two statements
have no API equivalent: setting table properties and a vacuum dry run. Their text is assembled
here only from validated parts: a table location without quoting characters, property keys of
a fixed alphabet, property values without quotes or backslashes, and Python ints. Each check
raises ValueError before any Spark call, so a hostile string never reaches the SQL parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "alter_properties_sql",
    "checked_int",
    "identifier",
    "identifiers",
    "table_location",
    "vacuum_dry_run_sql",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROPERTY_KEY = re.compile(r"[A-Za-z0-9_.]+")
_UNSAFE_VALUE = re.compile(r"['\"\\`;\x00-\x1f\x7f]")
_UNSAFE_LOCATION = re.compile(r"[`'\"\\;\x00-\x1f\x7f]|--|/\*")


def identifier(name: str) -> str:
    """A column name that is a plain identifier, returned unchanged.

    Raises:
        ValueError: the name is not `[A-Za-z_][A-Za-z0-9_]*`, so it cannot be trusted.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"column name {name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return name


def identifiers(names: Iterable[str]) -> list[str]:
    """Every name checked with `identifier`."""
    return [identifier(name) for name in names]


def checked_int(value: object, field: str) -> int:
    """A real int (not a bool, not a numeric string) for a field that goes into SQL text.

    Raises:
        ValueError: the value is not an int, naming the field.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an int, got {value!r}")
    return value


def table_location(uri: str) -> str:
    """A table location safe inside backticks: no quotes, comments or control characters.

    Inside backticks a location cannot become SQL anyway; refusing comment markers as well
    turns an injection attempt into a clear error instead of a strange path.

    Raises:
        ValueError: the location could close the quoted identifier or hide SQL.
    """
    if not uri or _UNSAFE_LOCATION.search(uri):
        raise ValueError(f"table location {uri!r} contains quoting or control characters")
    return uri


def _property_pair(key: str, value: str) -> str:
    if not isinstance(key, str) or not _PROPERTY_KEY.fullmatch(key):
        raise ValueError(f"table property key {key!r} must match [A-Za-z0-9_.]+")
    if not isinstance(value, str) or _UNSAFE_VALUE.search(value):
        raise ValueError(
            f"table property {key} has value {value!r} with quotes, backslashes or control "
            "characters, which are refused"
        )
    return f"'{key}' = '{value}'"


def alter_properties_sql(uri: str, properties: Mapping[str, str]) -> str:
    """`ALTER TABLE delta.`uri` SET TBLPROPERTIES (...)` from validated keys and values.

    Raises:
        ValueError: an empty mapping, or any unsafe location, key or value.
    """
    if not properties:
        raise ValueError("set_properties needs at least one property")
    pairs = ", ".join(_property_pair(k, v) for k, v in properties.items())
    return f"ALTER TABLE delta.`{table_location(uri)}` SET TBLPROPERTIES ({pairs})"


def vacuum_dry_run_sql(uri: str, retention_hours: int) -> str:
    """`VACUUM delta.`uri` RETAIN n HOURS DRY RUN`: the Python API has no dry run.

    Raises:
        ValueError: an unsafe location or a retention that is not an int.
    """
    hours = checked_int(retention_hours, "retention_hours")
    return f"VACUUM delta.`{table_location(uri)}` RETAIN {hours} HOURS DRY RUN"
