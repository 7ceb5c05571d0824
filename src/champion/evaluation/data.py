"""The evaluation set: CSV or Parquet, read in chunks with pyarrow, hashed alongside.

A file larger than memory works: only one chunk of features is held at a time; the caller keeps
the compact per-row columns it needs (target, weight, slices).

Feature columns reach a model as `pandas.read_csv(path)` / `pandas.read_parquet(path)` would give
them (issue 12: a column of ISO dates, which pyarrow's CSV reader turns into `datetime.date`
objects, made a OneHotEncoder see nothing it knew, and the report said 0.52 for a model at
0.73). pyarrow parses the CSV with pandas' spellings of missing values and booleans; whatever it
infers that pandas' own parser would not (dates, times, timestamps, hexadecimal integers) is
read as text instead, and `Reader.frame` gives the DataFrame pandas would.

Over 400 lines: one chunked reader of CSV and Parquet that gives what pandas would, with the
cases that made it so.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from champion.config import dtypes as dtype_names
from champion.errors import ChampionError
from champion.files import sha256_file

CHUNK_BYTES = 64 << 20  # CSV block size: ~64 MiB of text per chunk (fewer, larger predict calls)
PARQUET_BATCH_ROWS = 131_072
HEAD_BYTES = 1 << 20  # what is parsed to learn the header and to try a model on the first rows

# pandas.read_csv's default na_values (pandas._libs.parsers.STR_NA_VALUES, stable since pandas
# 1.0; a test compares them with the installed pandas').
PANDAS_NA_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


def _spellings(word: str) -> list[str]:
    """Every upper/lower-case spelling of `word`: pandas' parser compares booleans ignoring case
    (and, unlike pyarrow's default, never reads 1 or 0 as a boolean)."""
    return ["".join(p) for p in itertools.product(*({c.lower(), c.upper()} for c in word))]


TRUE_VALUES = _spellings("true")
FALSE_VALUES = _spellings("false")


class DataError(ChampionError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # pyarrow's type name: int64, double, string, bool, ...

    @property
    def numeric(self) -> bool:
        return self.dtype.startswith(
            ("int", "uint", "float", "double", "halffloat", "bool", "decimal")
        )


@dataclass(frozen=True)
class DataSpec:
    path: Path
    target: str
    slices: tuple[str, ...] = ()
    weight: str | None = None
    # `data.dtypes` from champion.yaml: column -> dtype, applied as pandas' `astype` would
    dtypes: Mapping[str, str] = field(default_factory=dict)
    dtypes_key: str = "data.dtypes"  # where they come from, for messages

    @property
    def display(self) -> str:
        return self.path.as_posix()


class _Hasher(threading.Thread):
    """Hashes the file on its own thread while pyarrow parses it on others: hashlib releases
    the GIL on large buffers, and the second read comes from the page cache."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.sha256 = ""
        self.size = 0
        self.error: OSError | None = None

    def run(self) -> None:
        try:
            self.sha256, self.size = sha256_file(self.path, chunk=4 << 20)
        except OSError as e:
            self.error = e

    def result(self) -> tuple[str, int]:
        self.join()
        if self.error is not None:
            raise DataError(f"evaluation data {self.path} cannot be read: {self.error}")
        return self.sha256, self.size


def file_sha256(path: Path) -> str:
    hasher = _Hasher(path)
    hasher.run()  # on this thread
    if hasher.error is not None:
        raise DataError(f"evaluation data {path} cannot be read: {hasher.error}")
    return hasher.sha256


def _kind(path: Path) -> str:
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return "parquet"
    if suffixes.endswith(".csv"):
        return "csv"
    raise DataError(f"evaluation data {path}: unsupported format; use a .csv or .parquet file")


def _pandas_names(raw: Sequence[str]) -> list[str]:
    """Header names as pandas makes them: an empty one is "Unnamed: i", a repeated one gets
    ".1", ".2", ... (pandas' `_dedup_names`)."""
    names = [name or f"Unnamed: {i}" for i, name in enumerate(raw)]
    counts: dict[str, int] = {}
    for i, name in enumerate(names):
        count = counts.get(name, 0)
        while count > 0:
            counts[name] = count + 1
            name = f"{name}.{count}"
            count = counts.get(name, 0)
        names[i] = name
        counts[name] = count + 1
    return names


def _pandas_parses(t: pa.DataType) -> bool:
    """A type pandas' own CSV parser could give a column (an int column with gaps is float64
    in pandas, int64 with nulls here: Reader.frame makes it float64)."""
    return bool(
        pa.types.is_int64(t)
        or pa.types.is_float64(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_null(t)
    )


def _cut(buffer: bytearray, filled: int, at_end: bool) -> int:
    """Where the block ends: after its last line end outside double quotes (a quoted value may
    hold line breaks, as pandas reads it), or everything at the end of the file."""
    if at_end:
        return filled
    cut = buffer.rfind(b"\n", 0, filled) + 1
    if buffer.find(b'"', 0, cut) < 0:  # the common case: nothing quoted
        return cut
    quotes = buffer.count(b'"', 0, cut)
    while cut and quotes % 2:
        # An odd number of quotes before the cut: it is inside a quoted value; step back a line.
        previous = buffer.rfind(b"\n", 0, cut - 1) + 1
        quotes -= buffer.count(b'"', previous, cut)
        cut = previous
    return cut


def _holds_hexadecimal(buffer: bytearray, cut: int) -> bool:
    """Whether the block holds "0x" or "0X". Looking for the letter first is a scan at memchr's
    speed; looking for "0x" stops at every 0 of a numeric file (60 ms per 64 MiB block)."""
    return any(
        buffer.find(letter, 0, cut) >= 0 and buffer.find(b"0" + letter, 0, cut) >= 0
        for letter in (b"x", b"X")
    )


class Reader:
    """Iterates an evaluation file as pyarrow RecordBatches; `sha256` is final once iterated."""

    def __init__(self, spec: DataSpec, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.spec = spec
        self.kind = _kind(spec.path)
        self.chunk_bytes = chunk_bytes
        if not spec.path.is_file():
            raise DataError(
                f"evaluation data {spec.display} does not exist: create it, `dvc pull` it, or pass --data"
            )
        self._parquet_meta: dict[bytes, bytes] | None = None
        self._names: list[str] = []  # the CSV's columns, named as pandas names them
        self._floor: dict[str, pa.DataType] = {}  # the CSV's types as its first MiB shows them
        self._gaps: set[str] = set()  # CSV columns of booleans with missing values in that MiB
        # CSV columns read as text rather than inferred: those declared so in data.dtypes, those
        # a model wants as categories of strings, and those pyarrow would read as pandas would not.
        self._text = {n for n, d in spec.dtypes.items() if dtype_names.is_text(d)}
        self._types: dict[str, pa.DataType] | None = None  # every CSV column's, once settled
        self.columns = self._schema()
        self._check_columns()
        self.sha256 = ""
        self.size = 0

    def _schema(self) -> list[Column]:
        try:
            if self.kind == "parquet":
                schema = pq.read_schema(self.spec.path)
                self._parquet_meta = schema.metadata
                # pandas.read_parquet makes these the frame's index, not columns.
                index = set(self._pandas_metadata().get("index_columns") or ()) - {None}
                return [Column(f.name, str(f.type)) for f in schema if f.name not in index]
            self._names = self._header()
            # The types of the first MiB, settled as the first block's will be: without parsing
            # 64 MiB, and what a block smaller than that (a test's) widens to.
            buffer, cut = self._head_bytes()
            if not cut:
                return [Column(n, "null") for n in self._names]
            table, text = self._settle(buffer, cut)
        except (pa.ArrowInvalid, OSError) as e:
            raise DataError(f"evaluation data {self.spec.display} cannot be read: {e}") from e
        self._text = text | {f.name for f in table.schema if pa.types.is_string(f.type)}
        for f, column in zip(table.schema, table.columns, strict=True):
            if pa.types.is_float64(f.type) or (pa.types.is_int64(f.type) and column.null_count):
                self._floor[f.name] = pa.float64()  # an integer column with gaps is float64
            elif not pa.types.is_null(f.type):
                self._floor[f.name] = f.type
            if pa.types.is_boolean(f.type) and column.null_count:
                self._gaps.add(f.name)  # booleans with gaps are objects, True/False/NaN
        return [Column(f.name, str(f.type)) for f in table.schema]

    def _header(self) -> list[str]:
        with self.spec.path.open("rb") as f:
            line = f.readline()
        if not line.strip():
            raise DataError(
                f"evaluation data {self.spec.display} is empty: it needs a header line naming "
                "its columns"
            )
        header = pacsv.read_csv(pa.py_buffer(line), convert_options=self._convert(None))
        return _pandas_names(header.schema.names)

    def _head_bytes(self) -> tuple[bytearray, int]:
        """The first rows after the header: HEAD_BYTES of them, or at least one whole row."""
        with self.spec.path.open("rb") as f:
            f.readline()
            buffer, cut, size = bytearray(), 0, HEAD_BYTES
            while not cut:
                buffer += f.read(size - len(buffer))
                cut = _cut(buffer, len(buffer), at_end=len(buffer) < size)
                if len(buffer) < size:
                    break
                size *= 4
        return buffer, cut

    def _pandas_metadata(self) -> dict[str, Any]:
        import json

        raw = (self._parquet_meta or {}).get(b"pandas")
        try:
            found = json.loads(raw) if raw else {}
        except ValueError:
            found = {}
        return found if isinstance(found, dict) else {}

    def _check_columns(self) -> None:
        names = [c.name for c in self.columns]
        listed = f"{', '.join(names[:30])}{'…' if len(names) > 30 else ''}"
        for role, column in [("target", self.spec.target), ("weight", self.spec.weight)] + [
            ("slice", s) for s in self.spec.slices
        ]:
            if column is not None and column not in names:
                raise DataError(
                    f"evaluation data {self.spec.display} has no {role} column {column!r}: "
                    f"its columns are {listed}"
                )
        for column, dtype in self.spec.dtypes.items():
            if column not in names:
                raise DataError(
                    f"{self.spec.dtypes_key} declares a dtype for column {column!r}, which "
                    f"evaluation data {self.spec.display} does not have: its columns are {listed}"
                )
            problem = dtype_names.problem(dtype)
            if problem:
                raise DataError(f"{self.spec.dtypes_key}.{column}: {problem}")

    @property
    def feature_columns(self) -> list[Column]:
        reserved = {self.spec.target, self.spec.weight, *self.spec.slices}
        return [c for c in self.columns if c.name not in reserved]

    @property
    def dtypes(self) -> dict[str, str]:
        """Each column's type for a signature: the declared dtype, else pyarrow's name of the
        type its first MiB reads as (as signatures have always recorded it)."""
        return {**{c.name: c.dtype for c in self.columns}, **self.spec.dtypes}

    def read_as_text(self, names: Sequence[str]) -> None:
        """Columns to read from the CSV as text (a model's categories are strings); before
        `batches`."""
        self._text |= set(names)

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            if self.kind == "parquet":
                yield from self._parquet_batches()
            else:
                yield from self._csv_batches()
        except pa.ArrowInvalid as e:
            raise DataError(f"evaluation data {self.spec.display}: {e}") from e

    def head(self) -> pa.RecordBatch:
        """The first rows (about HEAD_BYTES of them), converted as `batches` would: to try a
        model on before the long pass."""
        try:
            if self.kind == "parquet":
                parquet = pq.ParquetFile(self.spec.path)
                return next(parquet.iter_batches(batch_size=100), pa.record_batch([]))
            buffer, cut = self._head_bytes()
            if not cut:
                return pa.record_batch([])
            table, _ = self._settle(buffer, cut)
        except pa.ArrowInvalid as e:
            raise DataError(f"evaluation data {self.spec.display}: {e}") from e
        batches = table.combine_chunks().to_batches()
        return batches[0] if batches else pa.record_batch([])

    def _csv_batches(self) -> Iterator[pa.RecordBatch]:
        """Reads the file in blocks cut at line ends and parses each with pyarrow (on its
        threads). Reading by hand, rather than with pyarrow's streaming reader, bounds memory to
        one block however slowly the models predict (that reader reads ahead while they do), and
        the same bytes feed the sha256, so the file is read once."""
        digest = hashlib.sha256()
        # One buffer for every block, read into and parsed in place: the carried partial line
        # moves to its front. Joining and slicing bytes would hold three copies of a block.
        # Each read is chunk_bytes after the carry, so the batches (and a model's floating-point
        # results on them) are those of reading the blocks whole.
        buffer = bytearray(self.chunk_bytes + (1 << 20))
        filled = 0  # bytes in the buffer: the carry, then what was just read
        rows = 0
        with self.spec.path.open("rb") as f:
            header = f.readline()
            digest.update(header)
            size = len(header)
            while True:
                if filled + self.chunk_bytes > len(buffer):  # a carried line longer than 1 MiB
                    # A new buffer, not a resized one: pyarrow's threads release the last
                    # parsed view a few milliseconds after read_csv returns (BufferError).
                    grown = bytearray(filled + self.chunk_bytes)
                    grown[:filled] = buffer[:filled]
                    buffer = grown
                with memoryview(buffer) as view:
                    read = f.readinto(view[filled : filled + self.chunk_bytes])
                    digest.update(view[filled : filled + read])
                size += read
                filled += read
                cut = _cut(buffer, filled, at_end=not read)
                if cut:
                    # One batch per block: one predict call per 64 MiB. pyarrow's several
                    # chunks per block meant four times the calls, and a tree ensemble pays a
                    # parallel region per tree per call (twice the time on a busy machine).
                    table = self._block(buffer, cut, rows).combine_chunks()
                    rows += table.num_rows
                    buffer[: filled - cut] = buffer[cut:filled]
                    filled -= cut
                    yield from (b for b in table.to_batches() if b.num_rows)
                if not read:
                    break
        self.sha256, self.size = digest.hexdigest(), size
        # Arrow's allocator keeps freed blocks resident; give them back before the statistics.
        pa.default_memory_pool().release_unused()

    def _block(self, buffer: bytearray, cut: int, rows_before: int) -> pa.Table:
        """One block parsed with the types of the whole file so far: the first block's settle
        them, as pandas' would for a file that size; a later block may widen an integer column
        to float (as pandas does over the whole file), but not turn numbers into text."""
        if self._types is None:
            table, self._text = self._settle(buffer, cut)
            self._types = {f.name: f.type for f in table.schema}
            return table
        try:
            table = self._parse(buffer, cut, self._types)
        except pa.ArrowInvalid:
            inferred = self._parse(buffer, cut, self._forced())
            self._types = self._widen(inferred.schema, rows_before)
            table = self._parse(buffer, cut, self._types)
        hexadecimal = self._hexadecimal(buffer, cut, table.schema)
        if hexadecimal:
            name = hexadecimal[0]
            raise self._mixed(name, str(self._types[name]), "hexadecimal text", rows_before)
        return table

    def _settle(self, buffer: bytearray, cut: int) -> tuple[pa.Table, set[str]]:
        """The first block with pyarrow's inference, but every column pandas would read as text
        (dates, times, hexadecimal numbers) read as text."""
        text = set(self._text)
        table = self._parse(buffer, cut, self._forced(text))
        odd = {f.name for f in table.schema if not _pandas_parses(f.type)}
        odd |= set(self._hexadecimal(buffer, cut, table.schema))
        if odd:
            text |= odd
            table = self._parse(buffer, cut, self._forced(text))
        # A block smaller than the first MiB (a test's) takes that MiB's types where they are wider.
        for i, f in enumerate(table.schema):
            floor = self._floor.get(f.name)
            widens = floor is not None and (
                pa.types.is_null(f.type) or (pa.types.is_int64(f.type) and floor == pa.float64())
            )
            if widens and f.name not in text:
                table = table.set_column(i, f.name, table.column(i).cast(floor))
        return table, text

    def _forced(self, text: set[str] | None = None) -> dict[str, pa.DataType]:
        wanted = self._text if text is None else text
        return {n: pa.string() for n in self._names if n in wanted}

    def _widen(self, inferred: pa.Schema, rows_before: int) -> dict[str, pa.DataType]:
        assert self._types is not None
        types = dict(self._types)
        for f in inferred:
            old, new = types[f.name], f.type
            if old == new or pa.types.is_null(new) or pa.types.is_string(old):
                continue
            if pa.types.is_null(old):
                types[f.name] = new if _pandas_parses(new) else pa.string()
            elif {str(old), str(new)} == {"int64", "double"}:
                types[f.name] = pa.float64()
            else:
                raise self._mixed(f.name, str(old), str(new), rows_before)
        return types

    def _mixed(self, name: str, first: str, later: str, rows_before: int) -> DataError:
        return DataError(
            f"evaluation data {self.spec.display}: column {name!r} reads as {first} in its first "
            f"{rows_before} rows and as {later} after them, a column of mixed values to pandas: "
            f"declare its dtype in {self.spec.dtypes_key} in champion.yaml (e.g. {name}: str)"
        )

    def _hexadecimal(self, buffer: bytearray, cut: int, schema: pa.Schema) -> list[str]:
        """Integer columns with a value like 0x1F, which pyarrow reads as a number and pandas as
        text. Looked for only when the block holds "0x" at all."""
        ints = [f.name for f in schema if pa.types.is_integer(f.type)]
        if not ints or not _holds_hexadecimal(buffer, cut):
            return []
        as_text = self._parse(buffer, cut, {n: pa.string() for n in ints}, include=ints)
        pattern = r"^\s*[+-]?0[xX]"
        return [n for n in ints if pc.any(pc.match_substring_regex(as_text[n], pattern)).as_py()]

    def _convert(
        self, types: Mapping[str, pa.DataType] | None, include: Sequence[str] = ()
    ) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            column_types=dict(types or {}),
            null_values=list(PANDAS_NA_VALUES),
            true_values=TRUE_VALUES,
            false_values=FALSE_VALUES,
            strings_can_be_null=True,  # pandas reads an empty field as NaN in a text column too
            include_columns=list(include),
        )

    def _parse(
        self,
        buffer: bytearray,
        cut: int,
        types: Mapping[str, pa.DataType],
        include: Sequence[str] = (),
    ) -> pa.Table:
        read = pacsv.ReadOptions(column_names=self._names, block_size=max(1 << 20, cut // 4))
        # pyarrow splits a block for its threads at line ends unless told values hold them.
        quoted = pacsv.ParseOptions(newlines_in_values=buffer.find(b'"', 0, cut) >= 0)
        with memoryview(buffer) as view:
            return pacsv.read_csv(
                pa.py_buffer(view[:cut]),
                read_options=read,
                parse_options=quoted,
                convert_options=self._convert(types, include),
            )

    def _parquet_batches(self) -> Iterator[pa.RecordBatch]:
        hasher = _Hasher(self.spec.path)
        hasher.start()
        parquet = pq.ParquetFile(self.spec.path)
        yield from (b for b in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS) if b.num_rows)
        self.sha256, self.size = hasher.result()

    def frame(
        self,
        batch: pa.RecordBatch,
        names: Sequence[str],
        categories: Mapping[str, Sequence[Any] | None] | None = None,
    ) -> Any:
        """The named columns as the pandas DataFrame `pandas.read_csv`/`read_parquet` gives,
        with `data.dtypes` applied, and a model's categorical columns as pandas categories with
        the model's own categories (None: those of the data)."""

        sub = batch.select(list(names))
        df = sub.to_pandas()  # a Parquet batch keeps the file's pandas metadata (Int64, ...)
        if self.kind == "csv":
            for name in names:
                column = sub.column(name)
                if pa.types.is_null(column.type):  # a column with no value at all
                    df[name] = np.full(len(df), np.nan)
                elif column.null_count and df[name].dtype == object:
                    # pandas' missing value is NaN, in a column of booleans or (pandas 2) text
                    values = df[name].to_numpy(dtype=object, copy=True)
                    values[column.is_null().to_numpy(zero_copy_only=False)] = np.nan
                    df[name] = values
                elif name in self._gaps and pa.types.is_boolean(column.type):
                    df[name] = df[name].astype(object)  # as in the chunks that have the gaps
        for name, dtype in self.spec.dtypes.items():
            if name in df.columns:
                df[name] = self._astype(df[name], name, dtype)
        for name, wanted in (categories or {}).items():
            df[name] = _categorical(df[name], wanted)
        return df

    def _astype(self, series: Any, name: str, dtype: str) -> Any:
        try:
            return series.astype(dtype)
        except (TypeError, ValueError) as e:
            raise DataError(
                f"evaluation data {self.spec.display}: column {name!r} cannot be read as {dtype}, "
                f"the dtype {self.spec.dtypes_key} declares for it ({e})"
            ) from e


def _categorical(series: Any, categories: Sequence[Any] | None) -> Any:
    import pandas as pd

    if categories is None:
        return (
            series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
        )
    values = series
    numbers = all(isinstance(c, (int, float, np.number)) for c in categories)
    if numbers and not pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.to_numeric(series.astype(object), errors="coerce")
    # A value the model never saw becomes missing, as pandas' own set_categories makes it.
    known = pd.Series(values).isin(categories).to_numpy()
    return pd.Categorical(pd.Series(values).where(known), categories=list(categories))


def numeric_matrix(batch: pa.RecordBatch, names: Sequence[str]) -> np.ndarray[Any, Any]:
    """The named columns as one float64 (rows, features) array; nulls become NaN."""
    out = np.empty((batch.num_rows, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        column = batch.column(name)
        if column.null_count or pa.types.is_null(column.type):
            column = column.cast(pa.float64())
        out[:, j] = column.to_numpy(zero_copy_only=False)
    return out


def column_values(batch: pa.RecordBatch, name: str) -> np.ndarray[Any, Any]:
    return np.asarray(batch.column(name).to_numpy(zero_copy_only=False))
