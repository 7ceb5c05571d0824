"""The evaluation set: CSV or Parquet, read in chunks with pyarrow, hashed while it is read.

A file larger than memory works: only one chunk of features is held at a time; the caller keeps
the compact per-row columns it needs (target, weight, slices).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from champion.errors import ChampionError

CHUNK_BYTES = 16 << 20  # CSV block size: ~16 MiB of text per chunk
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


class _HashingReader(io.RawIOBase):
    """A file wrapper that hashes every byte pyarrow reads, so the data is read once."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        n = self.raw.readinto(view)  # type: ignore[attr-defined]
        if n:
            self.digest.update(view[:n])
            self.size += n
        return n or 0

    def finish(self) -> str:
        while chunk := self.raw.read(1 << 20):  # whatever pyarrow did not need
            self.digest.update(chunk)
            self.size += len(chunk)
        return self.digest.hexdigest()


def _kind(path: Path) -> str:
    suffixes = "".join(path.suffixes[-2:]).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return "parquet"
    if suffixes.endswith((".csv", ".csv.gz", ".tsv")):
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
                with pacsv.open_csv(self.spec.path, read_options=self._csv_options()) as r:
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
        with self.spec.path.open("rb") as raw:
            hashing = _HashingReader(raw)
            with pacsv.open_csv(
                io.BufferedReader(hashing, buffer_size=1 << 20), read_options=self._csv_options()
            ) as reader:
                for batch in reader:
                    if batch.num_rows:
                        yield batch
            self.sha256 = hashing.finish()
            self.size = hashing.size

    def _parquet_batches(self) -> Iterator[pa.RecordBatch]:
        digest = hashlib.sha256()
        with self.spec.path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        self.sha256 = digest.hexdigest()
        self.size = self.spec.path.stat().st_size
        parquet = pq.ParquetFile(self.spec.path)
        yield from (b for b in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS) if b.num_rows)


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
