"""Arrow columns built from buffers, for the ingest's bookkeeping tables.

`pa.array()` and `pa.Table.from_pylist()` import pandas on first use (pyarrow checks every input for pandas types),
≈0.5 s of every ingest's start-up; building the buffers with numpy does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa

INT64, STRING = pa.int64(), pa.string()


def int_column(values, type_: pa.DataType = INT64) -> pa.Array:
    """Integers (a numpy array or a sequence of ints, no None) as an Arrow array of `type_`."""
    array = np.ascontiguousarray(values, dtype=_NUMPY_INTS[type_])
    return pa.Array.from_buffers(type_, len(array), [None, pa.py_buffer(array)])


def bool_column(values) -> pa.Array:
    array = np.asarray(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(array), [None, _bitmap(array)])


def string_column(values: Sequence[str | None], type_: pa.DataType = STRING) -> pa.Array:
    """Strings (None for null) as `string` or `large_string`."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values]
    offsets_type = np.int64 if type_ == pa.large_string() else np.int32
    offsets = np.zeros(len(encoded) + 1, dtype=offsets_type)
    np.cumsum(np.fromiter(map(len, encoded), dtype=offsets_type, count=len(encoded)), out=offsets[1:])
    nulls = np.fromiter((value is None for value in values), dtype=bool, count=len(encoded))
    validity = _bitmap(~nulls) if nulls.any() else None
    return pa.Array.from_buffers(
        type_, len(encoded), [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


_NUMPY_INTS = {pa.int32(): np.int32, pa.int64(): np.int64}


def _bitmap(mask: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask, bitorder="little"))


def table_from_rows(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """`pa.Table.from_pylist(rows, schema)` without pandas, for the types bookkeeping tables use: strings, ints,
    floats, bools, timestamps (us), decimals and lists of those. A missing key is null."""
    return pa.Table.from_arrays(
        [column(field.type, [row.get(field.name) for row in rows]) for field in schema], schema=schema
    )


def column(type_: pa.DataType, values: list) -> pa.Array:
    """One Arrow array of `type_` from Python values (None is null)."""
    nulls = np.fromiter((value is None for value in values), dtype=bool, count=len(values))
    validity = _bitmap(~nulls) if nulls.any() else None
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return string_column(values, type_)
    if pa.types.is_list(type_):
        lengths = [0 if value is None else len(value) for value in values]
        offsets = np.zeros(len(values) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        child = column(type_.value_type, [item for value in values if value is not None for item in value])
        return pa.ListArray.from_buffers(type_, len(values), [validity, pa.py_buffer(offsets)], children=[child])
    if pa.types.is_boolean(type_):
        return pa.Array.from_buffers(
            type_, len(values), [validity, _bitmap(np.array([bool(v) for v in values], dtype=bool))]
        )
    if pa.types.is_decimal128(type_):
        raw = b"".join(_decimal_bytes(value, type_.scale) for value in values)
        return pa.Array.from_buffers(type_, len(values), [validity, pa.py_buffer(raw)])
    if pa.types.is_timestamp(type_) and type_.unit == "us" and type_.tz is None:
        data = np.array([0 if value is None else _micros(value) for value in values], dtype=np.int64)
    elif pa.types.is_floating(type_):
        data = np.array(
            [0.0 if value is None else value for value in values],
            dtype=np.float64 if type_ == pa.float64() else np.float32,
        )
    elif pa.types.is_integer(type_):
        data = np.array([0 if value is None else value for value in values], dtype=_NUMPY_INTS[type_])
    else:
        raise TypeError(f"no buffer builder for {type_}")
    return pa.Array.from_buffers(type_, len(values), [validity, pa.py_buffer(data)])


def _decimal_bytes(value, scale: int) -> bytes:
    if value is None:
        return bytes(16)
    scaled = Decimal(value).scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")  # pyarrow refuses it too
    return int(scaled).to_bytes(16, "little", signed=True)


def _micros(value: datetime) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1)
