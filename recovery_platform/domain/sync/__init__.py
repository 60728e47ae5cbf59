"""The nightly sync.

One table from its extract (with the mass-deletion guard), the whole run in dependency waves,
and the zero-tolerance invariants every synced table must hold.
"""
