"""Which data files of a table version exist, and how big they are, seen from the driver.

A version is restorable only while every file it references exists. The file list comes from
the Delta log through Spark (`DataFrame.inputFiles()`, no data is read); existence and sizes are
asked of the storage: the local file system directly, anything else through the session's own
Hadoop file system (so the same credentials apply), or pyarrow's file systems on Spark Connect,
where the driver has no JVM.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["file_sizes", "local_path", "log_file_times", "relative_path"]


def local_path(uri: str) -> str | None:
    """The local file system path of `uri`, or None for remote storage."""
    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    if "://" not in uri and ":" not in uri.split("/", 1)[0]:
        return uri
    return None


def relative_path(table_uri: str, file_uri: str) -> str:
    """A data file's path relative to the table root, as Delta's log writes it."""
    root = local_path(table_uri) or table_uri
    path = local_path(file_uri) or file_uri
    prefix = root.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def file_sizes(spark: SparkSession, uris: Sequence[str]) -> dict[str, int | None]:
    """Size in bytes of each file, None for files that do not exist."""
    sizes: dict[str, int | None] = {}
    remote: list[str] = []
    for uri in uris:
        path = local_path(uri)
        if path is None:
            remote.append(uri)
        else:
            sizes[uri] = os.path.getsize(path) if os.path.isfile(path) else None
    if remote:
        jvm = getattr(spark, "_jvm", None)
        sizes.update(_hadoop_sizes(spark, remote) if jvm is not None else _arrow_sizes(remote))
    return sizes


def _hadoop_sizes(spark: SparkSession, uris: Sequence[str]) -> dict[str, int | None]:
    """Sizes through the session's Hadoop file systems (classic sessions).

    The session's Hadoop configuration includes settings made on the session (storage
    credentials, `SparkEngine(storage_conf=...)`), which the context-wide one lacks.
    """
    jvm: Any = spark._jvm
    conf = spark._jsparkSession.sessionState().newHadoopConf()
    sizes: dict[str, int | None] = {}
    for uri in uris:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(conf)
        sizes[uri] = int(fs.getFileStatus(path).getLen()) if fs.exists(path) else None
    return sizes


def _arrow_sizes(uris: Sequence[str]) -> dict[str, int | None]:
    """Sizes through pyarrow's file systems (Spark Connect: no JVM on the driver)."""
    from pyarrow import fs

    sizes: dict[str, int | None] = {}
    for uri in uris:
        filesystem, path = fs.FileSystem.from_uri(uri)
        info = filesystem.get_file_info(path)
        sizes[uri] = int(info.size or 0) if info.type == fs.FileType.File else None
    return sizes


def log_file_times(spark: SparkSession, uri: str) -> dict[str, float]:
    """Modification time (seconds since the epoch) of each file in the table's `_delta_log`.

    Delta's log cleanup goes by these times, so predicting what a commit would clean needs them.
    """
    log = uri.rstrip("/") + "/_delta_log"
    path = local_path(log)
    if path is not None:
        with os.scandir(path) as entries:
            return {e.name: e.stat().st_mtime for e in entries if e.is_file()}
    if getattr(spark, "_jvm", None) is not None:
        return _hadoop_times(spark, log)
    return _arrow_times(log)


def _hadoop_times(spark: SparkSession, log: str) -> dict[str, float]:
    jvm: Any = spark._jvm
    conf = spark._jsparkSession.sessionState().newHadoopConf()
    directory = jvm.org.apache.hadoop.fs.Path(log)
    statuses = directory.getFileSystem(conf).listStatus(directory)
    return {str(s.getPath().getName()): s.getModificationTime() / 1000 for s in statuses
            if s.isFile()}


def _arrow_times(log: str) -> dict[str, float]:
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(log)
    infos = filesystem.get_file_info(fs.FileSelector(path))
    return {i.base_name: i.mtime.timestamp() for i in infos
            if i.type == fs.FileType.File and i.mtime is not None}
