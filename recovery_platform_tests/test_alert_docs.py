"""The alert runbook cannot drift: every declared kind has its section, with its severity, and
the table of kinds agrees with `domain/alerting/kinds.py`; every message links to a section."""

import re
from pathlib import Path

from recovery_platform.domain.alerting.kinds import ALERT_KINDS

REPO = Path(__file__).resolve().parents[1]
RUNBOOK = REPO / "docs" / "runbook_alerts.md"


def sections() -> dict[str, str]:
    parts = re.split(r"^## (.+?)\s*$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_kind_has_its_section_with_severity_meaning_query_and_fix() -> None:
    found = sections()
    for kind in ALERT_KINDS.values():
        assert kind.anchor == kind.name.lower()
        assert kind.name in found, f"add '## {kind.name}' to {RUNBOOK.name}"
        text = found[kind.name]
        assert f"**Severity:** {kind.severity.value}." in text, kind.name
        for part in ("**Meaning:**", "**First steps:**", "**Fix:**", "metadata."):
            assert part in text, f"{kind.name}: no {part}"


def test_the_table_maps_every_kind_to_its_severity_and_old_level() -> None:
    rows = re.findall(r"^\| \[(\w+)\]\(#(\w+)\) \| (\w+) \| ([^|]+) \|", RUNBOOK.read_text(),
                      flags=re.MULTILINE)
    table = {name: (anchor, severity, old.strip()) for name, anchor, severity, old in rows}
    assert set(table) == set(ALERT_KINDS)
    old_to_new = {"Critical": "CRITICAL", "Warning": "MEDIUM", "Info": "LOW"}
    raised_to_high = {"SyncHeld", "SyncRefused", "RetentionBelowCheckpoints"}
    for name, kind in ALERT_KINDS.items():
        anchor, severity, old = table[name]
        assert (anchor, severity) == (kind.anchor, kind.severity.value), name
        if name in raised_to_high:
            assert severity == "HIGH", name
        elif old != "(new)":
            assert old_to_new[old] == severity, f"{name}: {old} maps to {old_to_new[old]}"
