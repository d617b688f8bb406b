"""Array building blocks pyarrow.compute lacks: ranges, offsets, per-parent sums.

They keep the generator and the processor free of per-row Python: each is a handful of
kernel calls over whole arrays, whatever the batch size.
"""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

UINT64 = pa.uint64()
MASK64 = (1 << 64) - 1
_ZERO = pa.array([0], UINT64)
_RANGE = [pa.array(range(1 << 16), UINT64)]


@lru_cache(maxsize=1024)
def u64(value: int) -> pa.Scalar:
    """A uint64 scalar, wrapping like the kernels do. Cached: building a scalar costs as
    much as a kernel call on a small array, and the same few constants recur."""
    return pa.scalar(value & MASK64, UINT64)


def arange(count: int) -> pa.Array:
    """uint64 0, 1, ..., count - 1 (a zero-copy slice of a cached, growing range)."""
    cached = _RANGE[0]
    while len(cached) < count:
        shifted = pc.add(cached, u64(len(cached)))
        cached = pa.concat_arrays([cached, shifted])
        _RANGE[0] = cached
    return cached.slice(0, count)


def offsets(counts: pa.Array) -> pa.Array:
    """List offsets (uint64, one more than `counts`, starting at 0) of child counts."""
    return pa.concat_arrays([_ZERO, pc.cumulative_sum(counts.cast(UINT64))])


def total(list_offsets: pa.Array) -> int:
    return int(list_offsets[len(list_offsets) - 1].as_py())


def parents(list_offsets: pa.Array) -> pa.Array:
    """For each child, the index of its parent (a vectorised 'repeat')."""
    lists = pa.ListArray.from_arrays(
        list_offsets.cast(pa.int32()), pa.nulls(total(list_offsets), pa.null())
    )
    return pc.list_parent_indices(lists).cast(UINT64)


def positions(list_offsets: pa.Array, child_parents: pa.Array) -> pa.Array:
    """For each child, its 0-based index among its siblings (uint64)."""
    starts = list_offsets.cast(UINT64).take(child_parents)
    return pc.subtract(arange(len(child_parents)), starts)


def span_sums(values: pa.Array, list_offsets: pa.Array) -> pa.Array:
    """Per parent, the sum of its children's `values` (uint64, or int64 for signed)."""
    wide = pa.int64() if pa.types.is_signed_integer(values.type) else UINT64
    running = pa.concat_arrays([_ZERO.cast(wide), pc.cumulative_sum(values.cast(wide))])
    ends = running.take(list_offsets.slice(1))
    return pc.subtract(ends, running.take(list_offsets.slice(0, len(list_offsets) - 1)))


def differences(list_offsets: pa.Array) -> pa.Array:
    """Per parent, its number of children."""
    last = len(list_offsets) - 1
    return pc.subtract(list_offsets.slice(1), list_offsets.slice(0, last))
