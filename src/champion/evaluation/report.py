"""`report.json`: the contract between `evaluate` and everything that renders or decides.

Its JSON Schema ships inside the package (champion/schemas/report.schema.json). A report from a
pull request is untrusted: `read_report` checks its size and its schema before anything uses it.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

from champion import untrusted
from champion.errors import ChampionError
from champion.files import write_atomic

MAX_REPORT_BYTES = 8 << 20

# --- the shape (report.schema.json says the same, and is what a report read is checked against) --


class CandidateJson(TypedDict):
    source: str
    sha256: str
    bytes: int


# recorded: its predictions recorded at release; model: its model, loaded and run. (`from` is a
# keyword, hence the functional form.)
PredictionsJson = TypedDict(
    "PredictionsJson", {"from": Literal["recorded", "model"], "note": str | None}
)


class _ChampionRequired(TypedDict):
    version: str | None
    tag: str | None
    stage: str | None
    commit: str | None
    source: str
    sha256: str
    bytes: int


class SigningJson(TypedDict):
    """Whether the champion's tag carries a signature (as it claims: not verified here), and
    whether champion.yaml requires one (issue 18)."""

    signed: bool
    signer: str | None
    required: bool


class ChampionJson(_ChampionRequired, total=False):
    format: str | None
    loader: str | None
    predictions: PredictionsJson
    signing: SigningJson  # a registered version's only


class DataJson(TypedDict):
    path: str
    sha256: str
    bytes: int
    rows: int
    target: str
    weight: str | None
    slices: list[str]
    classes: list[str]


class StatsJson(TypedDict):
    level: float
    resamples: int
    seed: int


class IntervalJson(TypedDict):
    low: float | None
    high: float | None
    level: float
    method: str


class MetricJson(TypedDict):
    name: str
    direction: Literal["higher", "lower"]
    champion: float | None
    candidate: float | None
    delta: float | None
    interval: IntervalJson | None
    rule: dict[str, float | bool] | None
    verdict: Literal["pass", "fail", "skipped", "none"]
    note: str | None


class SliceJson(TypedDict):
    column: str
    value: str
    rows: int
    judged: bool
    metrics: list[MetricJson]


class FeatureJson(TypedDict):
    name: str
    dtype: str


class SignatureJson(TypedDict):
    task: str
    features: list[FeatureJson]
    n_features: int
    classes: list[str] | None


class SignatureDiffJson(TypedDict):
    champion: SignatureJson | None
    candidate: SignatureJson | None
    changes: list[dict[str, Any]]
    bump: Literal["major", "minor", "patch"]
    reasons: list[str]


# bump none: the gate failed (then version is None); from: the version it bumps.
_SuggestedRequired = TypedDict(
    "_SuggestedRequired",
    {
        "bump": Literal["major", "minor", "patch", "none"],
        "from": str | None,
        "version": str | None,
    },
)


class SuggestedJson(_SuggestedRequired, total=False):
    reasons: list[str]  # why this bump, each reason once


class FindingJson(TypedDict):
    metric: str
    slice: str | None
    rule: str
    verdict: Literal["pass", "fail", "skipped"]
    message: str


class GateJson(TypedDict):
    verdict: Literal["passed", "failed"]
    passed: bool
    findings: list[FindingJson]
    reasons: list[str]
    policy: dict[str, str]


class _ReportRequired(TypedDict):
    schema: Literal[1]
    model: str
    created_at: str
    tool: dict[str, str]
    format: str | None
    task: Literal["classification", "regression"] | None
    candidate: CandidateJson
    champion: ChampionJson | None
    initial: bool
    data: DataJson | None
    stats: StatsJson
    metrics: list[MetricJson]
    slices: list[SliceJson]
    signature: SignatureDiffJson
    suggested: SuggestedJson
    gate: GateJson
    timings: dict[str, float]


class Report(_ReportRequired, total=False):
    """report.json, as `champion evaluate` writes it and every consumer reads it: the comment, the
    job summary, the terminal, the model card, a release's gate and bump, the actions' summary.
    Keys a Python name cannot hold (`from`) are read with ["from"] like the others."""

    loader: str | None
    run_url: str | None  # the CI run that evaluated; None outside CI


def bump_reasons(report: Report) -> list[str]:
    """Why the suggested bump; reports written before `suggested.reasons` give the signature's."""
    reasons = report["suggested"].get("reasons")
    return [str(r) for r in (reasons if reasons is not None else report["signature"]["reasons"])]


@cache
def schema() -> dict[str, Any]:
    text = (resources.files("champion") / "schemas" / "report.schema.json").read_text(
        encoding="utf-8"
    )
    data: dict[str, Any] = json.loads(text)
    return data


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


@cache
def _validator(name: str = "report") -> Any:
    import jsonschema

    text = (resources.files("champion") / "schemas" / f"{name}.schema.json").read_text(
        encoding="utf-8"
    )
    return jsonschema.Draft202012Validator(json.loads(text))


def problems(report: Any, kind: str = "report") -> str | None:
    """The first way the report (or a failure, `kind="failure"`) breaks its schema, or None."""
    errors = sorted(_validator(kind).iter_errors(report), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"at {where}: {first.message[:300]}{more}"


MAX_FAILURE_MESSAGE = 20_000


def write_failure(path: str | Path, failure: dict[str, Any]) -> Path:
    """A failed evaluation's account (failure.schema.json), where its report would have been."""
    error = failure["error"]
    error["message"] = str(error["message"])[-MAX_FAILURE_MESSAGE:]
    return _write(path, failure, "failure")


def write_report(path: str | Path, report: Report) -> Path:
    """Validates, then writes atomically (files.write_atomic)."""
    return _write(path, dict(report), "report")


def _write(path: str | Path, report: dict[str, Any], kind: str) -> Path:
    clean = _finite(report)
    problem = problems(clean, kind)
    if problem:  # champion built it: a bug, not bad input
        raise RuntimeError(f"the {kind} champion built does not match its schema {problem}")
    target = Path(path)
    write_atomic(target, json.dumps(clean, indent=2, sort_keys=True) + "\n")
    return target


def read_report(path: str | Path) -> Report:
    """A report as `write_report` wrote it, or a ChampionError naming the file and the key: it
    may come from a fork's pull request, so its size, depth, numbers and schema are checked
    before any of it is used."""
    data, kind = read_report_or_failure(path)
    if kind != "report":
        raise ChampionError(
            f"report {path} says the evaluation of {data['model']} failed ({data['error']['step']}"
            f", exit code {data['error']['exit_code']}): there is no verdict in it"
        )
    return cast(Report, data)  # its schema checked: the shape Report names


def read_report_or_failure(path: str | Path) -> tuple[dict[str, Any], str]:
    """A report, or the account of an evaluation that failed (kind "failure", as the evaluate
    action writes it): both untrusted, checked as `read_report` says, each against its schema."""
    p = Path(path)
    if not p.is_file():
        raise ChampionError(f"report {p} does not exist: run champion evaluate first")
    if p.stat().st_size > MAX_REPORT_BYTES:
        raise ChampionError(f"report {p} is over {MAX_REPORT_BYTES >> 20} MiB: refusing to read it")
    try:
        data = untrusted.load_json(p.read_bytes(), f"report {p}")
    except untrusted.UntrustedInput as e:
        raise ChampionError(f"{e}: refusing to use it (champion evaluate writes none such)") from e
    kind = "failure" if isinstance(data, dict) and "error" in data else "report"
    problem = problems(data, kind)
    if problem or not isinstance(data, dict):
        raise ChampionError(
            f"report {p} does not match the {kind} schema {problem}: refusing to use it"
        )
    return data, kind
