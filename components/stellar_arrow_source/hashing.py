"""Counter-based pseudo-random numbers, vectorised with pyarrow.compute.

Every synthetic value is a pure function of (seed, ledger, transaction, operation, field):
a SplitMix64 finaliser over a key built from those counters. Nothing depends on the order
or the size of the batch a value is generated in, which is what makes any sub-range of
ledgers regenerate identically on its own.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from stellar_common.vectors import MASK64 as _MASK64
from stellar_common.vectors import arange
from stellar_common.vectors import u64 as _u64

UINT64 = pa.uint64()
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = pa.scalar(0xBF58476D1CE4E5B9, UINT64)
_MIX2 = pa.scalar(0x94D049BB133111EB, UINT64)


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
    """A lowercase hex string of 16*words characters per key (a 32-byte hash by default).

    Word w of a key is `field_hash(keys, field * 16 + w)`, written big-endian, so the text
    is what `f"{word:016x}"` gives; it is built without a per-key Python loop.
    """
    count = len(keys) * words
    slot = arange(count)
    owner = pc.divide(slot, _u64(words))
    word = pc.subtract(slot, pc.multiply(owner, _u64(words)))
    # field_hash(k, field*16 + w) = splitmix64(k + (field*16 + w + 1) * golden)
    salted = pc.add(keys.take(owner), pc.multiply(word, _u64(_GOLDEN)))
    values = splitmix64(pc.add(salted, _u64((field * 16 + 1) * _GOLDEN)))
    little_endian = pa.Array.from_buffers(pa.uint8(), count * 8, [None, values.buffers()[1]])
    pairs = _HEX_PAIRS.take(little_endian.take(_big_endian_order(count * 8)))
    width = 16 * words
    text_offsets = pc.multiply(arange(len(keys) + 1), _u64(width)).cast(pa.int32())
    return pa.Array.from_buffers(
        pa.string(), len(keys), [None, text_offsets.buffers()[1], pairs.buffers()[1]]
    )


def _hex_pair(byte: int) -> int:
    """Two hex digits as one little-endian uint16: the first digit in the low byte."""
    text = f"{byte:02x}".encode()
    return text[0] | text[1] << 8


_HEX_PAIRS = pa.array([_hex_pair(byte) for byte in range(256)], pa.uint16())
_BYTE_ORDER = [pa.array([7, 6, 5, 4, 3, 2, 1, 0], UINT64)]


def _big_endian_order(count: int) -> pa.Array:
    """Indices reading each 8-byte little-endian word of a buffer most significant first."""
    cached = _BYTE_ORDER[0]
    while len(cached) < count:
        shifted = pc.add(cached, _u64(len(cached)))
        cached = pa.concat_arrays([cached, shifted])
        _BYTE_ORDER[0] = cached
    return cached.slice(0, count)
