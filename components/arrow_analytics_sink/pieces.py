"""Text assembled row by row from pieces, with one gather for the whole table.

A row's text is a sequence of slots. A slot holds, per row, one piece: either a choice
among a few texts (`choice`: JSON fragments rendered once per distinct value), or a value
of a string column as it is (`values`: not copied until the final gather). Constant text
(`constant`) never costs a slot of its own where it can be avoided: it is folded into the
choice slot before or after it.

Adjacent choice slots are merged while the product of their text counts stays small
(one slot of pairs instead of two), since every slot costs the gather about the same
whatever its length. `text()` concatenates all texts, lists for row 0, row 1, ... the
index of each of its pieces, and gathers them with one `take`: the value buffer of the
result is the text, contiguous.
"""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
from stellar_common.vectors import arange

INDEX = pa.int32()
MAX_MERGED_CHOICES = 4096
_EMPTY = pa.scalar("", pa.string())


def index_scalar(value: int) -> pa.Scalar:
    return pa.scalar(value, INDEX)


def indices(count: int) -> pa.Array:
    """int32 0..count-1."""
    return arange(count).cast(INDEX)


class Pieces:
    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._texts: list[pa.Array] = []
        self._slots: list[pa.Array] = []
        self._pending = ""
        self._open_choice = False  # the last slot is a choice: constants fold into it

    def constant(self, text: str) -> None:
        if self._open_choice:
            self._texts[-1] = pc.binary_join_element_wise(self._texts[-1], _text(text), _EMPTY)
        else:
            self._pending += text

    def choice(self, texts: pa.Array, slot: pa.Array) -> None:
        """Per row, the text at `slot` (int32, no null) among `texts`."""
        if self._pending:
            texts = pc.binary_join_element_wise(_text(self._pending), texts, _EMPTY)
            self._pending = ""
        if self._open_choice and len(self._texts[-1]) * len(texts) <= MAX_MERGED_CHOICES:
            self._merge(texts, slot)
        else:
            self._texts.append(texts)
            self._slots.append(slot)
        self._open_choice = True

    def values(self, strings: pa.Array) -> None:
        """Per row, the row's value of `strings` (a null adds nothing)."""
        self._flush()
        self._texts.append(strings)
        self._slots.append(indices(self.rows))
        self._open_choice = False

    def text(self) -> memoryview:
        """The pieces of every row, in order, as one contiguous buffer."""
        self._flush()
        based: list[pa.Array] = []
        size = 0
        for texts, slot in zip(self._texts, self._slots, strict=True):
            based.append(pc.add(slot, index_scalar(size)) if size else slot)
            size += len(texts)
        order = _row_major(self.rows, len(based))
        gathered = pa.concat_arrays(self._texts).take(pa.concat_arrays(based).take(order))
        return value_bytes(gathered)

    def _flush(self) -> None:
        """Give pending constant text a slot of its own (nothing to fold it into)."""
        if self._pending:
            self._texts.append(pa.array([self._pending], pa.string()))
            self._slots.append(pa.repeat(index_scalar(0), self.rows))
            self._pending = ""

    def _merge(self, texts: pa.Array, slot: pa.Array) -> None:
        """Replace the last choice slot by one choosing pairs (last, this)."""
        before, before_slot = self._texts[-1], self._slots[-1]
        width = index_scalar(len(texts))
        pairs = indices(len(before) * len(texts))
        first = pc.divide(pairs, width)
        second = pc.subtract(pairs, pc.multiply(first, width))
        merged = pc.binary_join_element_wise(before.take(first), texts.take(second), _EMPTY)
        self._texts[-1] = merged
        self._slots[-1] = pc.add(pc.multiply(before_slot, width), slot)


@lru_cache(maxsize=256)
def _text(value: str) -> pa.Scalar:
    # A typed scalar: pyarrow infers the type of a bare Python str at ~0.1 ms per call.
    return pa.scalar(value, pa.string())


@lru_cache(maxsize=8)
def _row_major(rows: int, slots: int) -> pa.Array:
    """Positions, in the slot-major concatenation, of the pieces of row 0, row 1, ..."""
    position = indices(rows * slots)
    row = pc.divide(position, index_scalar(slots))
    slot = pc.subtract(position, pc.multiply(row, index_scalar(slots)))
    return pc.add(pc.multiply(slot, index_scalar(rows)), row)


def value_bytes(strings: pa.Array) -> memoryview:
    """The concatenated values of a string array, without copying them."""
    _, offsets_buffer, data = strings.buffers()
    if data is None:
        return memoryview(b"")
    offsets = pa.Array.from_buffers(
        pa.int32(), len(strings) + 1, [None, offsets_buffer], offset=strings.offset
    )
    start, end = offsets[0].as_py(), offsets[len(strings)].as_py()
    return memoryview(data)[start:end]
