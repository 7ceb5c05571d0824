"""Property: champion's predictions equal `model.predict_proba(pandas.read_csv(path))` (and
`read_parquet`) over generated files full of awkward columns (issue 12).

The model is testing.models.Fingerprint: its probability hashes every value with its Python
type and its column's dtype, so the two agree only when the frames the model gets are the same.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from champion.evaluation.data import PANDAS_NA_VALUES, DataSpec, Reader
from champion.evaluation.predict import evaluate_rows, feature_plan
from testing.models import Fingerprint

BOOLEANS = ["True", "False", "true", "false", "TRUE", "FALSE", "tRuE", "fAlSe"]
KINDS = ["int", "float", "bool", "date", "time", "timestamp", "text", "code", "hex", "unicode"]
SETTINGS = settings(
    max_examples=int(os.environ.get("FIDELITY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def cell(draw: st.DrawFn, kind: str) -> str:
    if draw(st.integers(0, 9)) == 0:  # about one value in ten is missing, spelt as pandas may
        return draw(st.sampled_from(PANDAS_NA_VALUES))
    if kind == "int":
        value = draw(st.integers(-(10**12), 10**12))
        return f"{draw(st.sampled_from(['', ' ']))}{value}{draw(st.sampled_from(['', ' ']))}"
    if kind == "float":
        special = ["inf", "-inf", "Infinity", "-INF", ".5", "5.", "1e400", "-0.0", "1E-5"]
        value = draw(st.floats(allow_nan=False, allow_infinity=False, width=64))
        style = draw(st.sampled_from(["repr", "fixed", "exp", "special"]))
        if style == "special":
            return draw(st.sampled_from(special))
        return {"repr": repr(value), "fixed": f"{value:.6f}", "exp": f"{value:.17e}"}[style]
    if kind == "bool":
        return draw(st.sampled_from(BOOLEANS))
    if kind == "date":
        return draw(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))).isoformat()
    if kind == "time":
        return draw(st.times()).isoformat()
    if kind == "timestamp":
        stamp = draw(st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1)))
        return stamp.isoformat(sep=draw(st.sampled_from([" ", "T"])))
    if kind == "code":  # leading zeros: pandas reads "007" as 7
        return draw(st.from_regex(r"\A0{0,3}[0-9]{1,4}\Z"))
    if kind == "hex":
        return f"0x{draw(st.integers(0, 4095)):X}"
    if kind == "unicode":
        alphabet = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\x00")
        return draw(st.text(alphabet, min_size=1, max_size=8))
    # text with the separators, quotes and line breaks a CSV must quote
    return draw(st.text(st.sampled_from(list('ab ,"\n;é日0.5-')), max_size=8))


def quote(value: str, always: bool) -> str:
    if always or any(c in value for c in ',"\n\r') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_text(draw: st.DrawFn) -> tuple[str, list[str]]:
    columns = draw(
        st.lists(st.lists(st.sampled_from(KINDS), min_size=1, max_size=2), min_size=1, max_size=6)
    )
    rows = draw(st.integers(2, 40))  # both classes
    names = [f"c{i}" for i in range(len(columns))]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join([*names, "target"])]
    for r in range(rows):
        values = [
            quote(draw(cell(draw(st.sampled_from(kinds)))), draw(st.booleans()))
            for kinds in columns
        ]
        lines.append(",".join([*values, str(r % 2)]))
    return newline.join(lines) + newline, names


def champion_probabilities(path: Path, model: Any, chunk_bytes: int) -> np.ndarray[Any, Any]:
    reader = Reader(DataSpec(path, "target"), chunk_bytes=chunk_bytes)
    plan = feature_plan(model, reader, "candidate", "classification")
    evaluated = evaluate_rows(reader, "classification", (model, plan), None)
    return np.asarray(evaluated.candidate.proba)


@SETTINGS
@given(data=csv_text(), chunk_bytes=st.sampled_from([16, 64, 256, 1 << 20]))
def test_champion_predicts_what_the_model_predicts_on_pandas_read_csv(
    tmp_path_factory: Any, data: tuple[str, list[str]], chunk_bytes: int
) -> None:
    text, names = data
    path = tmp_path_factory.mktemp("csv") / "eval.csv"
    path.write_bytes(text.encode("utf-8"))
    frame = pd.read_csv(path)
    model = Fingerprint().fit(frame[names], frame["target"])
    expected = model.predict_proba(pd.read_csv(path)[names])[:, 1]
    got = champion_probabilities(path, model, chunk_bytes)
    np.testing.assert_array_equal(got, expected)


@st.composite
def parquet_frame(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(2, 30))
    mask = st.lists(st.booleans(), min_size=rows, max_size=rows)
    numbers = draw(st.lists(st.integers(-1000, 1000), min_size=rows, max_size=rows))
    floats = draw(st.lists(st.floats(allow_nan=True, width=64), min_size=rows, max_size=rows))
    texts = draw(st.lists(st.text(max_size=5), min_size=rows, max_size=rows))
    flags = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    missing = draw(mask)
    columns: dict[str, Any] = {
        "ints": numbers,
        "nullable": pd.array(
            [None if m else n for n, m in zip(numbers, missing, strict=True)], dtype="Int64"
        ),
        "floats": floats,
        "texts": [None if m else t for t, m in zip(texts, draw(mask), strict=True)],
        "flags": [None if m else f for f, m in zip(flags, draw(mask), strict=True)],
        "plan": pd.Categorical([None if m else t for t, m in zip(texts, draw(mask), strict=True)]),
        "day": pd.to_datetime([dt.datetime(2021, 1, 1 + n % 28) for n in numbers]),
        "target": [i % 2 for i in range(rows)],
    }
    keep = draw(st.lists(st.sampled_from(list(columns)[:-1]), min_size=1, unique=True))
    return pd.DataFrame({k: columns[k] for k in [*keep, "target"]})


@SETTINGS
@given(frame=parquet_frame(), index=st.booleans())
def test_champion_predicts_what_the_model_predicts_on_pandas_read_parquet(
    tmp_path_factory: Any, frame: pd.DataFrame, index: bool
) -> None:
    path = tmp_path_factory.mktemp("parquet") / "eval.parquet"
    frame.to_parquet(path, index=index)
    names = [c for c in frame.columns if c != "target"]
    read = pd.read_parquet(path)
    model = Fingerprint().fit(read[names], read["target"])
    expected = model.predict_proba(read[names])[:, 1]
    np.testing.assert_array_equal(champion_probabilities(path, model, 1 << 20), expected)
