"""The dtypes `data.dtypes` in champion.yaml may name: checked when champion.yaml is loaded, so
this module imports nothing heavy (status and history never import pandas)."""

from __future__ import annotations

# Read from the CSV as text, never inferred: a column of "007" stays "007", as
# `pandas.read_csv(path, dtype={column: str})` keeps it.
TEXT = ("str", "string", "object", "category")
_INTS = tuple(f"{u}int{b}" for u in ("", "u") for b in (8, 16, 32, 64))
_NULLABLE_INTS = tuple(f"{u}Int{b}" for u in ("", "U") for b in (8, 16, 32, 64))
_DATETIMES = tuple(f"datetime64[{unit}]" for unit in ("s", "ms", "us", "ns"))
CHOICES = (
    *TEXT,
    "bool",
    "boolean",
    "int",
    "float",
    *_INTS,
    *_NULLABLE_INTS,
    "float32",
    "float64",
    "Float32",
    "Float64",
    *_DATETIMES,
)


def problem(dtype: object) -> str | None:
    """Why `dtype` cannot be used, or None when it can."""
    if isinstance(dtype, str) and dtype in CHOICES:
        return None
    return f"unknown dtype {dtype!r}: use one of {', '.join(CHOICES)}"


def is_text(dtype: str) -> bool:
    return dtype in TEXT or dtype.startswith("datetime64")
