#!/usr/bin/env bash
# Check that Java 17 or newer is present for the Spark tests; sourced by test.sh.
# The Delta jars come from Maven Central on the first Spark session and are cached in
# ~/.cache/recovery_platform/ivy (see recovery_platform/engine/spark/session.py).
set -euo pipefail

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "error: Java 17+ is needed for the Spark tests; install it or set JAVA_HOME" >&2
  exit 1
fi
java_major=$("$java_bin" -XshowSettings:properties -version 2>&1 |
  sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)
if [ "${java_major:-0}" -lt 17 ]; then
  echo "error: Java 17+ is needed for the Spark tests; found $java_major at $java_bin" >&2
  exit 1
fi
mkdir -p "${HOME}/.cache/recovery_platform/ivy"
