"""Checkpoints: restore points that pin exact Delta versions.

Recorded in `CheckpointHistory` (`history`), kept restorable by the retention rule
(`retention`), and taken by an admin on demand (`manual`).
"""
