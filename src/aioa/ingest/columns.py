"""Arrow columns built from buffers, for the ingest's bookkeeping tables.

`pa.array()` and `pa.Table.from_pylist()` import pandas on first use (pyarrow checks every input for pandas types),
≈0.5 s of every ingest's start-up; building the buffers with numpy does not.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    return pa.Array.from_buffers(type_, len(encoded), [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


_NUMPY_INTS = {pa.int32(): np.int32, pa.int64(): np.int64}


def _bitmap(mask: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask, bitorder="little"))
