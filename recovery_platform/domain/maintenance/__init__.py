"""Maintenance: weekly VACUUM and OPTIMIZE that never break a restore point, and retention.

Owns the maintenance request, which versions a vacuum keeps (those active checkpoints pin),
vacuum and optimize of bronze and metadata tables with their safety rules (kept versions,
retention floor, the all-column proof of every rewrite, the PreMaintenance checkpoint, dry
runs that change nothing), the retention operation's check of table properties, and the run's
summary. Checkpoint expiry itself belongs to `checkpoints.expiry`; this package calls it.
"""
