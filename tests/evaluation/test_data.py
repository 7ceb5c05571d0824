from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from champion.evaluation.data import DataError, DataSpec, Reader, numeric_matrix


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
