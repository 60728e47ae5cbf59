"""The engines every contract test runs against: one entry per real engine."""

from __future__ import annotations

from recovery_platform.engine import StorageEngine

ENGINE_NAMES: list[str] = ["deltars", "spark"]


def make_engine(name: str) -> StorageEngine:
    """A real engine by name; Spark shares one session per test session."""
    if name == "deltars":
        from recovery_platform.engine.deltars import DeltaRsEngine

        return DeltaRsEngine(storage_options={})
    if name == "spark":
        from recovery_platform.engine.spark import SparkEngine
        from recovery_platform_tests.spark_support import shared_spark_session

        return SparkEngine(shared_spark_session())
    raise ValueError(f"unknown engine {name!r}; known: {ENGINE_NAMES}")
