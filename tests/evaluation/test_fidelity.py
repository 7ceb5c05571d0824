"""Feature columns reach the model as pandas.read_csv / pandas.read_parquet give them (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from champion.evaluation.data import PANDAS_NA_VALUES, DataError, DataSpec, Reader
from champion.evaluation.predict import evaluate_rows, feature_plan


def read_all(path: Path, chunk_bytes: int = 1 << 20, **spec: Any) -> pd.DataFrame:
    reader = Reader(DataSpec(path, spec.pop("target", "target"), **spec), chunk_bytes=chunk_bytes)
    names = [c.name for c in reader.columns]
    frames = [reader.frame(b, names) for b in reader.batches()]
    return pd.concat(frames, ignore_index=True)


AWKWARD = "\n".join(
    [
        "day,at,stamp,flag,flag2,flag_na,num,code,count,empty,text,quoted,accents,na_words,inf,spaced,target",
        '2021-01-01,10:00:00,2021-01-01 10:00:00,True,true,True,NA,007,1,,abc,"a,b",é,None,inf, 5,0',
        '2021-01-02,11:00:00,2021-01-02T11:00:00,False,FALSE,,1.5,010,2,,,"x ""y""",ü,<NA>,-inf,6 ,1',
        '2021-01-03,12:30:00,2021-01-03 12:30:00,TRUE,tRuE,false,2,000,3,,n/a,"",日本,#N/A,1e3,7,0',
        "",
    ]
)


@pytest.mark.parametrize("chunk_bytes", [40, 1 << 20])
def test_a_csv_reads_as_pandas_reads_it(tmp_path: Path, chunk_bytes: int) -> None:
    path = tmp_path / "eval.csv"
    path.write_text(AWKWARD, encoding="utf-8")
    got = read_all(path, chunk_bytes=chunk_bytes)
    expected = pd.read_csv(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got["day"].tolist() == ["2021-01-01", "2021-01-02", "2021-01-03"]  # never dates
    assert got["code"].tolist() == [7, 10, 0]  # pandas reads "007" as the number 7


def test_the_missing_value_spellings_are_pandas_own() -> None:
    from pandas._libs.parsers import STR_NA_VALUES

    assert set(PANDAS_NA_VALUES) == set(STR_NA_VALUES)


def test_quoted_line_breaks_survive_block_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    rows = [f'{i},"line one\nline ""two"", {i}\n",{i % 2}' for i in range(300)]
    path.write_text("f,note,target\n" + "\n".join(rows) + "\n")
    for chunk in (64, 1000, 1 << 20):
        pd.testing.assert_frame_equal(read_all(path, chunk_bytes=chunk), pd.read_csv(path))


def test_header_names_are_pandas_names(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    path.write_text(",a,a,b,a,target\n0,1,2,3,4,1\n1,5,6,7,8,0\n")
    got = read_all(path)
    assert list(got.columns) == ["Unnamed: 0", "a", "a.1", "b", "a.2", "target"]
    pd.testing.assert_frame_equal(got, pd.read_csv(path))


def test_an_integer_column_becomes_float_where_a_later_block_has_decimals(tmp_path: Path) -> None:
    """Past the first MiB, which is what the types are first learnt from."""
    path = tmp_path / "eval.csv"
    values = [str(i) for i in range(200_000)] + ["2.5", ""] + [str(i) for i in range(100)]
    path.write_text("x,target\n" + "\n".join(f"{v},{i % 2}" for i, v in enumerate(values)) + "\n")
    got = read_all(path, chunk_bytes=1 << 20)
    expected = pd.read_csv(path)
    assert got["x"].dtype == expected["x"].dtype == np.float64
    np.testing.assert_array_equal(got["x"].to_numpy(), expected["x"].to_numpy())


def test_numbers_then_text_in_a_later_block_names_the_column_and_data_dtypes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "eval.csv"
    lines = [f"{i},{i % 2}" for i in range(200_000)] + ["ab12,0"]
    path.write_text("zip,target\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"column 'zip' reads as int64 .* data\.dtypes .*zip: str"):
        read_all(path, chunk_bytes=1 << 20)
    got = read_all(path, chunk_bytes=1 << 20, dtypes={"zip": "str"})
    pd.testing.assert_frame_equal(got, pd.read_csv(path, dtype={"zip": "str"}))


def test_hexadecimal_values_stay_text_as_pandas_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    path.write_text("color,n,target\n0x1F,1,0\n17,2,1\n0X10,3,0\n")
    got = read_all(path)
    assert got["color"].tolist() == ["0x1F", "17", "0X10"]
    pd.testing.assert_frame_equal(got, pd.read_csv(path))
    # Past the first block the column was read as numbers already: that is a mixed column.
    path.write_text("color,target\n" + "".join(f"{i},0\n" for i in range(200_000)) + "0x1F,1\n")
    with pytest.raises(DataError, match=r"'color' reads as int64 .* as hexadecimal text"):
        read_all(path, chunk_bytes=1 << 20)


def test_data_dtypes_apply_as_read_csv_dtype_would(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    path.write_text("zip,plan,score,day,target\n007,gold,1,2021-01-02,0\n010,basic,2,,1\n")
    dtypes = {"zip": "str", "plan": "category", "score": "float32", "day": "datetime64[ns]"}
    got = read_all(path, dtypes=dtypes)
    assert got["zip"].tolist() == ["007", "010"]
    assert isinstance(got["plan"].dtype, pd.CategoricalDtype)
    assert got["score"].dtype == np.float32
    assert got["day"].dtype == "datetime64[ns]" and got["day"].isna().tolist() == [False, True]


def test_data_dtypes_for_a_missing_column_or_an_unknown_dtype_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    path.write_text("a,target\n1,0\n")
    key = "champion.yaml: models.churn.data.dtypes"
    with pytest.raises(DataError, match=rf"{key} declares a dtype for column 'plan'.*eval\.csv"):
        Reader(DataSpec(path, "target", dtypes={"plan": "category"}, dtypes_key=key))
    with pytest.raises(DataError, match=r"data\.dtypes\.a: unknown dtype 'categorical'"):
        Reader(DataSpec(path, "target", dtypes={"a": "categorical"}))


def test_parquet_reads_as_pandas_reads_it(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "text": ["x", None, "z", ""],
            "plan": pd.Categorical(["u", "v", "u", None]),
            "flag": [True, None, False, True],
            "day": pd.to_datetime(["2021-01-01", "2021-01-02", None, "2021-01-04"]),
            "target": [0, 1, 0, 1],
        },
        index=pd.Index([10, 11, 12, 13], name="id"),
    )
    path = tmp_path / "eval.parquet"
    frame.to_parquet(path)
    reader = Reader(DataSpec(path, "target"))
    assert "id" not in [c.name for c in reader.columns]  # the index is not a feature
    got = read_all(path)
    pd.testing.assert_frame_equal(got, pd.read_parquet(path).reset_index(drop=True))


def test_a_date_like_category_gets_the_metrics_pandas_and_scikit_learn_give(
    tmp_path: Path,
) -> None:
    """The issue's case: a OneHotEncoder fitted on date strings; pyarrow alone made them dates,
    every value unknown, and roc_auc 0.5."""
    rng = np.random.default_rng(0)
    n = 3000
    days = np.array([f"2021-01-{d:02d}" for d in range(1, 29)])
    day = rng.choice(days, n)
    effect = {d: rng.normal() for d in days}
    target = (np.array([effect[d] for d in day]) + rng.normal(size=n) > 0).astype(int)
    frame = pd.DataFrame({"signup": day, "x": rng.normal(size=n), "target": target})
    path = tmp_path / "eval.csv"
    frame.to_csv(path, index=False)
    encode = ColumnTransformer([("day", OneHotEncoder(handle_unknown="ignore"), ["signup"])])
    model = make_pipeline(encode, LogisticRegression()).fit(frame[["signup", "x"]], target)
    reader = Reader(DataSpec(path, "target"))
    plan = feature_plan(model, reader, "candidate")
    evaluated = evaluate_rows(reader, "classification", (model, plan), None)
    expected = model.predict_proba(pd.read_csv(path)[["signup", "x"]])[:, 1]
    np.testing.assert_array_equal(evaluated.candidate.proba, expected)
    assert roc_auc_score(target, evaluated.candidate.proba) > 0.7


def test_data_dtypes_apply_to_parquet_too(tmp_path: Path) -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], "plan": ["a", "b", "a"], "target": [0, 1, 0]})
    path = tmp_path / "eval.parquet"
    frame.to_parquet(path, index=False)
    got = read_all(path, dtypes={"n": "float32", "plan": "category"})
    expected = pd.read_parquet(path).astype({"n": "float32", "plan": "category"})
    pd.testing.assert_frame_equal(got, expected)
