"""The delta-rs source diff joins keys as bytes: fixed-width when every key has one width."""

import pyarrow as pa

from recovery_platform.engine.deltars.source import byte_keys


def test_join_keys_are_bytes_of_one_width_only_when_every_key_has_it() -> None:
    guids, others = byte_keys(pa.array(["a" * 36, None, "b" * 36]), pa.chunked_array([["c" * 36]]))
    assert guids.type == pa.binary(36) and others.type == pa.binary(36)
    assert guids.to_pylist() == [b"a" * 36, None, b"b" * 36]
    mixed, short = byte_keys(pa.array(["a" * 36, "é"]), pa.array(["ab"]))
    assert mixed.type == pa.binary() and short.type == pa.binary()
    assert mixed.to_pylist() == [b"a" * 36, "é".encode()]
    (numbers,) = byte_keys(pa.array([7, 12], pa.int64()))
    assert numbers.to_pylist() == [b"7", b"12"]
