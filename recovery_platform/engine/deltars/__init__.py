"""The delta-rs engine: the embedded default, no JVM; Delta tables read and written in-process.

Only `DeltaRsEngine` is public. The modules beside it (table loading, counts, diffs, source
comparison, maintenance) are its internals: nothing outside `engine/` imports them.
"""

from recovery_platform.engine.deltars.engine import DeltaRsEngine

__all__ = ["DeltaRsEngine"]
