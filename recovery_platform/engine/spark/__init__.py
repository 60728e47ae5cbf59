"""The Spark + Delta Lake engine, for lakehouses that outgrow one machine.

Public: `SparkEngine` and `session_config` (the settings a session needs for Delta Lake, used by
dagster-pyspark's resource). Nothing here imports pyspark at import time; the modules beside
them are the engine's internals.
"""

from recovery_platform.engine.spark.engine import SparkEngine
from recovery_platform.engine.spark.session import session_config

__all__ = ["SparkEngine", "session_config"]
