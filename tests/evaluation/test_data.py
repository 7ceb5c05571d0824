from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from champion.evaluation.data import DataError, DataSpec, Reader, numeric_matrix


def assert_frame_as_pandas_reads(
    reader: Reader, batches: list[pa.RecordBatch], expected: Any
) -> None:
    names = [c.name for c in reader.columns]
    got = pd.concat([reader.frame(b, names) for b in batches], ignore_index=True)
    pd.testing.assert_frame_equal(got, expected)


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    lines = ["f1,f2,region,target,w"]
    for i in range(rows):
        lines.append(
            f"{rng.normal():.6f},{rng.integers(0, 9)},{'eu' if i % 3 else 'us'},{i % 2},1.5"
        )
    path.write_text("\n".join(lines) + "\n")


def test_csv_is_read_in_chunks_and_hashed_in_the_same_pass(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    write_csv(path, 5000)
    reader = Reader(DataSpec(path, "target", ("region",), "w"), chunk_bytes=16 << 10)
    batches = list(reader.batches())
    assert len(batches) > 5  # really chunked
    assert sum(b.num_rows for b in batches) == 5000
    assert reader.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reader.size == path.stat().st_size
    assert [c.name for c in reader.feature_columns] == ["f1", "f2"]
    x = numeric_matrix(batches[0], ["f2", "f1"])
    assert x.dtype == np.float64 and x.shape == (batches[0].num_rows, 2)


@pytest.mark.parametrize("ending", ["\n", ""])
def test_csv_blocks_join_to_the_whole_file_with_lines_longer_than_a_block(
    tmp_path: Path, ending: str
) -> None:
    """The batches equal pyarrow's read of the whole file, even once later blocks have been read
    into the same buffer (nothing parsed may point into it) and when a line outgrows the buffer;
    each block is chunk_bytes of the file, as if read whole, so the batches do not depend on how
    they are read."""
    path = tmp_path / "eval.csv"
    rows = [f"{i},{'x' * (i % 7) * 40},{i % 2}" for i in range(400)]
    path.write_text("f1,name,target\n" + "\n".join(rows) + ending)
    chunk = 100
    reader = Reader(DataSpec(path, "target"), chunk_bytes=chunk)
    batches = list(reader.batches())
    assert_frame_as_pandas_reads(reader, batches, pd.read_csv(path))
    assert reader.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reader.size == path.stat().st_size
    body, carry, lines = path.read_bytes().split(b"\n", 1)[1], b"", []
    for start in range(0, len(body) + chunk, chunk):  # the last read is empty: the end
        read = body[start : start + chunk]
        block = carry + read
        cut = block.rfind(b"\n") + 1 if read else len(block)
        lines.append(block[:cut].count(b"\n") + (cut > 0 and not block[:cut].endswith(b"\n")))
        carry = block[cut:]
    assert [b.num_rows for b in batches] == [n for n in lines if n]


def test_a_carried_line_longer_than_the_buffers_slack_grows_it(tmp_path: Path) -> None:
    """The buffer holds a block and 1 MiB of carried line; a longer line straddling a block's
    end makes it grow."""
    chunk = 8 << 20
    rows: list[str] = []
    size = 0
    while size < chunk - (5 << 18):  # short rows up to 1.25 MiB before the first block's end
        i = len(rows)
        rows.append(f"{i},{'x' * (i % 50)},{i % 2}")
        size += len(rows[-1]) + 1
    long = "-1," + "y" * (3 << 19) + ",1"  # 1.5 MiB, of which 1.25 MiB is carried
    path = tmp_path / "eval.csv"
    path.write_text("f1,name,target\n" + "\n".join([*rows, long, *rows[:1000]]) + "\n")
    reader = Reader(DataSpec(path, "target"), chunk_bytes=chunk)
    assert_frame_as_pandas_reads(reader, list(reader.batches()), pd.read_csv(path))


def test_parquet_is_read_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "eval.parquet"
    table = pa.table({"f1": np.arange(300_000, dtype=np.float64), "target": np.arange(300_000) % 2})
    pq.write_table(table, path, row_group_size=50_000)
    reader = Reader(DataSpec(path, "target"))
    batches = list(reader.batches())
    assert len(batches) >= 3
    assert sum(b.num_rows for b in batches) == 300_000
    assert reader.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_columns_and_files_name_the_culprit(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    write_csv(path, 10)
    with pytest.raises(DataError, match="no target column 'churned'"):
        Reader(DataSpec(path, "churned"))
    with pytest.raises(DataError, match="no slice column 'plan'"):
        Reader(DataSpec(path, "target", ("plan",)))
    with pytest.raises(DataError, match="does not exist"):
        Reader(DataSpec(tmp_path / "nope.csv", "target"))
    with pytest.raises(DataError, match="unsupported format"):
        Reader(DataSpec(tmp_path / "eval.xlsx", "target"))
