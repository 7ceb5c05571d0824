"""The evaluation set: CSV or Parquet, read in chunks with pyarrow, hashed alongside.

A file larger than memory works: only one chunk of features is held at a time; the caller keeps
the compact per-row columns it needs (target, weight, slices).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from champion.errors import ChampionError

CHUNK_BYTES = 64 << 20  # CSV block size: ~64 MiB of text per chunk (fewer, larger predict calls)
PARQUET_BATCH_ROWS = 131_072


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
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as f:
                while chunk := f.read(4 << 20):
                    digest.update(chunk)
                    self.size += len(chunk)
        except OSError as e:
            self.error = e
        self.sha256 = digest.hexdigest()

    def result(self) -> tuple[str, int]:
        self.join()
        if self.error is not None:
            raise DataError(f"evaluation data {self.path} cannot be read: {self.error}")
        return self.sha256, self.size


def _kind(path: Path) -> str:
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return "parquet"
    if suffixes.endswith(".csv"):
        return "csv"
    raise DataError(f"evaluation data {path}: unsupported format; use a .csv or .parquet file")


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
        self.columns = self._schema()
        self._check_columns()
        self.sha256 = ""
        self.size = 0

    def _schema(self) -> list[Column]:
        try:
            if self.kind == "parquet":
                schema = pq.read_schema(self.spec.path)
            else:
                # A small first block: the header and the types, without parsing 64 MiB.
                sniff = pacsv.ReadOptions(block_size=1 << 20)
                with pacsv.open_csv(self.spec.path, read_options=sniff) as r:
                    schema = r.schema
        except (pa.ArrowInvalid, OSError) as e:
            raise DataError(f"evaluation data {self.spec.display} cannot be read: {e}") from e
        return [Column(f.name, str(f.type)) for f in schema]

    def _csv_options(self) -> pacsv.ReadOptions:
        return pacsv.ReadOptions(block_size=self.chunk_bytes)

    def _check_columns(self) -> None:
        names = [c.name for c in self.columns]
        for role, column in [("target", self.spec.target), ("weight", self.spec.weight)] + [
            ("slice", s) for s in self.spec.slices
        ]:
            if column is not None and column not in names:
                raise DataError(
                    f"evaluation data {self.spec.display} has no {role} column {column!r}: "
                    f"its columns are {', '.join(names[:30])}{'…' if len(names) > 30 else ''}"
                )

    @property
    def feature_columns(self) -> list[Column]:
        reserved = {self.spec.target, self.spec.weight, *self.spec.slices}
        return [c for c in self.columns if c.name not in reserved]

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            if self.kind == "parquet":
                yield from self._parquet_batches()
            else:
                yield from self._csv_batches()
        except pa.ArrowInvalid as e:
            raise DataError(f"evaluation data {self.spec.display}: {e}") from e

    def _csv_batches(self) -> Iterator[pa.RecordBatch]:
        """Reads the file in blocks cut at line ends and parses each with pyarrow (on its
        threads). Reading by hand, rather than with pyarrow's streaming reader, bounds memory to
        one block however slowly the models predict (that reader reads ahead while they do), and
        the same bytes feed the sha256, so the file is read once."""
        digest = hashlib.sha256()
        names = [c.name for c in self.columns]
        types: dict[str, pa.DataType] | None = None
        # One buffer for every block, read into and parsed in place: the carried partial line
        # moves to its front. Joining and slicing bytes would hold three copies of a block.
        # Each read is chunk_bytes after the carry, so the batches (and a model's floating-point
        # results on them) are those of reading the blocks whole.
        buffer = bytearray(self.chunk_bytes + (1 << 20))
        filled = 0  # bytes in the buffer: the carry, then what was just read
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
                cut = buffer.rfind(b"\n", 0, filled) + 1 if read else filled
                if cut:
                    with memoryview(buffer) as view:
                        table = self._parse(view[:cut], names, types)
                    types = types or {n: table.schema.field(n).type for n in names}
                    buffer[: filled - cut] = buffer[cut:filled]
                    filled -= cut
                    yield from (b for b in table.to_batches() if b.num_rows)
                if not read:
                    break
        self.sha256, self.size = digest.hexdigest(), size
        # Arrow's allocator keeps freed blocks resident; give them back before the statistics.
        pa.default_memory_pool().release_unused()

    def _parse(
        self, data: memoryview, names: list[str], types: dict[str, pa.DataType] | None
    ) -> pa.Table:
        read = pacsv.ReadOptions(column_names=names, block_size=max(1 << 20, len(data) // 4))
        # The first block's types hold for every block, as they would for a whole-file read.
        convert = pacsv.ConvertOptions(column_types=types) if types else None
        return pacsv.read_csv(pa.py_buffer(data), read_options=read, convert_options=convert)

    def _parquet_batches(self) -> Iterator[pa.RecordBatch]:
        hasher = _Hasher(self.spec.path)
        hasher.start()
        parquet = pq.ParquetFile(self.spec.path)
        yield from (b for b in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS) if b.num_rows)
        self.sha256, self.size = hasher.result()


def numeric_matrix(batch: pa.RecordBatch, names: Sequence[str]) -> np.ndarray[Any, Any]:
    """The named columns as one float64 (rows, features) array; nulls become NaN."""
    out = np.empty((batch.num_rows, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        column = batch.column(name)
        if column.null_count:
            column = column.cast(pa.float64())
        out[:, j] = column.to_numpy(zero_copy_only=False)
    return out


def column_values(batch: pa.RecordBatch, name: str) -> np.ndarray[Any, Any]:
    return np.asarray(batch.column(name).to_numpy(zero_copy_only=False))
