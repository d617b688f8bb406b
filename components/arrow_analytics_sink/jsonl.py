"""Arrow table -> JSON Lines bytes, built column-wise with pyarrow.compute.

Each column becomes one array of JSON fragments (`,"key":value`, or `,"key":null`); the
fragments are joined element-wise into one line per row, and the lines' contiguous value
buffer is the file content, written without a per-row Python loop. A string column that
holds a character JSON must escape takes the slow path (json.dumps per value), so the
output is always valid JSON.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _text(value: str) -> pa.Scalar:
    # A typed scalar: pyarrow infers the type of a bare Python str at ~0.1 ms per call.
    return pa.scalar(value, pa.string())


_EMPTY, _QUOTE, _TRUE, _FALSE_TEXT = _text(""), _text('"'), _text("true"), _text("false")
_TIME_END, _LINE_END = _text('Z"'), _text("}\n")


def _timestamps(column: pa.Array) -> pa.Array:
    text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S", locale="C")
    return pc.binary_join_element_wise(_QUOTE, text, _TIME_END, _EMPTY)


def _needs_escape(strings: pa.Array) -> bool:
    # One regex pass over the column's whole value buffer (one string), not one per row:
    # a hit outside this slice only costs the slow path.
    data = strings.buffers()[2]
    if data is None:
        return False
    whole_offsets = pa.array([0, data.size], pa.int64()).buffers()[1]
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, whole_offsets, data])
    return bool(pc.match_substring_regex(whole, _NEEDS_ESCAPE)[0].as_py())


def _string_fragments(key: str, strings: pa.Array) -> pa.Array:
    if _needs_escape(strings):
        return pa.array(
            [None if v is None else key + json.dumps(v) for v in strings.to_pylist()],
            pa.string(),
        )
    return pc.binary_join_element_wise(_text(key + '"'), strings, _QUOTE, _EMPTY)


def _scalar_values(column: pa.Array) -> pa.Array:
    """JSON text of each non-string value; null where the value is null."""
    kind = column.type
    if pa.types.is_boolean(kind):
        return pc.if_else(column, _TRUE, _FALSE_TEXT)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return column.cast(pa.string())
    if pa.types.is_timestamp(kind):
        return _timestamps(column)
    raise TypeError(f"JSON Lines writer: unsupported column type {kind}")


def _rendered(key: str, column: pa.Array) -> pa.Array:
    if pa.types.is_string(column.type):
        return _string_fragments(key, column)
    return pc.binary_join_element_wise(_text(key), _scalar_values(column), _EMPTY)


def _fragments(name: str, column: pa.Array, first: bool) -> pa.Array:
    key = ("{" if first else ",") + json.dumps(name) + ":"
    # Most columns repeat a few values (assets, accounts, ledgers): render each distinct
    # value once and gather; a column of mostly distinct values is rendered directly.
    encoded = column.dictionary_encode()
    if len(encoded.dictionary) * 2 <= len(column):
        joined = _rendered(key, encoded.dictionary).take(encoded.indices)
    else:
        joined = _rendered(key, column)
    return pc.fill_null(joined, _text(key + "null"))


def _value_bytes(lines: pa.Array) -> memoryview:
    """The concatenated values of a string array, without copying them."""
    _, offsets_buffer, data = lines.buffers()
    offsets = pa.Array.from_buffers(
        pa.int32(), len(lines) + 1, [None, offsets_buffer], offset=lines.offset
    )
    start, end = offsets[0].as_py(), offsets[len(lines)].as_py()
    return memoryview(data)[start:end]


def jsonl_bytes(table: pa.Table) -> memoryview:
    """One JSON object per row, keys in schema order, each line ending in a newline."""
    if table.num_rows == 0:
        return memoryview(b"")
    parts: list[pa.Array | pa.Scalar] = [
        _fragments(name, table.column(index).combine_chunks(), index == 0)
        for index, name in enumerate(table.schema.names)
    ]
    parts.append(_LINE_END)
    return _value_bytes(pc.binary_join_element_wise(*parts, _EMPTY))
