"""Counter-based pseudo-random numbers, vectorised with pyarrow.compute.

Every synthetic value is a pure function of (seed, ledger, transaction, operation, field):
a SplitMix64 finaliser over a key built from those counters. Nothing depends on the order
or the size of the batch a value is generated in, which is what makes any sub-range of
ledgers regenerate identically on its own.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

UINT64 = pa.uint64()
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = pa.scalar(0xBF58476D1CE4E5B9, UINT64)
_MIX2 = pa.scalar(0x94D049BB133111EB, UINT64)


def _u64(value: int) -> pa.Scalar:
    return pa.scalar(value & _MASK64, UINT64)


def splitmix64(keys: pa.Array) -> pa.Array:
    """The SplitMix64 finaliser, element-wise on a uint64 array (multiplications wrap)."""
    z = pc.bit_wise_xor(keys, pc.shift_right(keys, _u64(30)))
    z = pc.multiply(z, _MIX1)
    z = pc.bit_wise_xor(z, pc.shift_right(z, _u64(27)))
    z = pc.multiply(z, _MIX2)
    return pc.bit_wise_xor(z, pc.shift_right(z, _u64(31)))


def splitmix64_int(key: int) -> int:
    """The same finaliser on one Python int, for keys computed outside a batch."""
    z = key & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def child_keys(parent_keys: pa.Array, counters: pa.Array, salt: int) -> pa.Array:
    """Keys of children (transactions of a ledger, operations of a transaction)."""
    mixed = pc.add(parent_keys, pc.multiply(pc.add(counters, _u64(1)), _u64(_GOLDEN ^ salt)))
    return splitmix64(mixed)


def field_hash(keys: pa.Array, field: int) -> pa.Array:
    """An independent uniform uint64 per key for one named field."""
    return splitmix64(pc.add(keys, _u64((field + 1) * _GOLDEN)))


def below(keys: pa.Array, field: int, bound: int) -> pa.Array:
    """Uniform integers in [0, bound) per key, for one field."""
    return pc.modulo(field_hash(keys, field), _u64(bound))


def chance(keys: pa.Array, field: int, percent: float) -> pa.Array:
    """A boolean per key, true with the given probability in percent."""
    return pc.less(below(keys, field, 10_000), _u64(round(percent * 100)))


def hex_digest(keys: pa.Array, field: int, words: int = 4) -> pa.Array:
    """A lowercase hex string of 16*words characters per key (a 32-byte hash by default)."""
    # The hashing is vectorised; the formatting is one f-string per word, which for the
    # few thousand hashes of a batch costs less than the ~30 kernel calls per word of a
    # vectorised hex encoding.
    columns = [field_hash(keys, field * 16 + word).to_pylist() for word in range(words)]
    return pa.array(
        ["".join(f"{value:016x}" for value in values) for values in zip(*columns, strict=True)],
        pa.string(),
    )
