"""One evaluation, end to end: resolve both models, read the data once, measure, judge, report.

Everything is validated before the (long) prediction pass; nothing is written here: the caller
writes the report.

Over 400 lines: the evaluation's steps in order (load, read, measure, judge, build the report),
each a function here.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import numpy as np

from champion._version import __version__
from champion.ci import context
from champion.config import ModelConfig
from champion.errors import ConfigError
from champion.evaluation import baseline as baselines
from champion.evaluation import environment, gate, metrics, recorded, signature
from champion.evaluation.data import DataError, DataSpec, Reader
from champion.evaluation.metricsfile import from_files
from champion.evaluation.outputs import Predictions, Truth
from champion.evaluation.predict import Evaluated, evaluate_rows, feature_plan, infer_task
from champion.evaluation.report import Report, SigningJson
from champion.loading.custom import make_importable
from champion.loading.verified import LoadedModel, load
from champion.project import Project
from champion.registry import ModelState

REPORT_SCHEMA = 1
MAX_SLICE_VALUES = 50
DEFAULT_METRICS = {
    "classification": ["accuracy", "f1", "roc_auc", "log_loss"],
    "regression": ["mae", "rmse", "r2"],
}
_SPECIAL_GATE_KEYS = ("slices", "policy")


@dataclass(frozen=True)
class Measured:
    task: str | None
    data: dict[str, Any] | None
    values: list[metrics.MetricValue]
    signatures: tuple[signature.Signature | None, signature.Signature | None]
    slices: list[SliceResult]


@dataclass(frozen=True)
class Stats:
    level: float = 0.95
    resamples: int = 2000
    seed: int = 0


def _format_of(model: ModelConfig, candidate: Path) -> str | None:
    return model.artifact_format(candidate)


def _stats(model: ModelConfig) -> Stats:
    declared = model.stats
    level = declared.confidence
    if not 0.5 <= level < 1:
        raise ConfigError(f"models.{model.name}.stats.confidence {level} must be in [0.5, 1)")
    return Stats(level, declared.resamples, declared.seed)


@dataclass(frozen=True)
class Recording:
    """The candidate's predictions on the evaluation set, written for its release to record."""

    path: Path
    metadata: dict[str, Any]  # sha256, bytes, rows, data_sha256, read: for the tag
    libraries: dict[str, str]  # the libraries its classes come from, and their versions


@dataclass(frozen=True)
class Evaluation:
    report: Report
    recording: Recording | None


def run(
    project: Project,
    model_name: str,
    *,
    candidate: str | None = None,
    baseline: str | None = None,
    data: str | None = None,
    champion_predictions: str = "auto",
    record_to: Path | None = None,
) -> Evaluation:
    """The evaluation; with `record_to`, the candidate's predictions are written there too.
    `champion_predictions`: auto (the champion's recorded predictions when they apply, else its
    model), recorded (those or an error), model (always its model)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    model = project.config.model(model_name)
    make_importable(project.root)  # for a loader and custom metrics, as `python -m` would
    candidate_path = Path(candidate) if candidate else project.root / model.path
    fmt = _format_of(model, candidate_path)
    stats = _stats(model)
    base, state = baselines.resolve(project.config, project.registry, model, baseline)
    trusted = model.trusted_types
    task = model.task
    recording = None
    with tempfile.TemporaryDirectory(
        prefix="champion-eval-", ignore_cleanup_errors=True
    ) as workspace:
        t = time.perf_counter()
        cand = load(
            candidate_path,
            label="candidate",
            source=_display(candidate_path, project.root),
            fmt=fmt,
            trusted_types=trusted,
            loader=model.loader,
            task=task,
        )
        spec = _data_spec(project, model, data) if fmt != "metrics" else None
        champ = None
        if base.kind != "none":
            champ = baselines.champion(
                project, model, base, spec, trusted, Path(workspace), champion_predictions, task
            )
        timings["load_s"] = time.perf_counter() - t
        if fmt == "metrics" or spec is None:
            measured = _metrics_only(model, cand, champ.loaded if champ else None)
        else:
            measured, recording = _measure(
                project, model, cand, champ, base, spec, stats, timings, record_to
            )
    report = _header(model, cand, champ, base, stats)
    if report["champion"] is not None and base.kind == "version":
        report["champion"]["signing"] = _signing(project, base)
    report["task"] = measured.task
    report["data"] = measured.data
    report.update(_verdicts(project, model, measured, champ is not None, state))
    timings["total_s"] = time.perf_counter() - started
    report["timings"] = {k: round(v, 4) for k, v in timings.items()}
    # Built from parts typed by their builders; write_report checks it against the schema.
    return Evaluation(cast(Report, report), recording)


def record(
    project: Project, model_name: str, *, candidate: str, record_to: Path
) -> Recording | None:
    """The candidate's predictions on the evaluation set alone, written to `record_to` (a
    release whose bump needs no evaluation still records them for the next pull request)."""
    model = project.config.model(model_name)
    make_importable(project.root)
    path = Path(candidate)
    fmt = _format_of(model, path)
    if fmt == "metrics" or not (model.data and model.data.target):
        return None
    trusted = model.trusted_types
    declared = model.task
    cand = load(
        path,
        label="candidate",
        source=model.path,
        fmt=fmt,
        trusted_types=trusted,
        loader=model.loader,
        task=declared,
    )
    task = declared or infer_task(cand.obj)
    reader = Reader(_data_spec(project, model, None))
    plan = feature_plan(cand.obj, reader, f"candidate {cand.source}", task)
    return _record(cand, evaluate_rows(reader, task, (cand.obj, plan), None), reader, record_to)


def _signing(project: Project, base: baselines.Baseline) -> SigningJson:
    """Whether the champion's tag carries a signature (issue 18), and whether champion.yaml
    requires one. What the tag claims: `champion verify` checks it, and promote, rollback and
    publish do under `signing.required`; evaluation makes no network call for it."""
    from champion.signing import SigningError, read_record

    signer = None
    try:
        signed = read_record(base.metadata or {}, base.tag or "the champion's tag")
        signer = signed.signer() if signed is not None else None
    except SigningError:
        signed = None
    required = project.config.signing is not None and project.config.signing.required
    return {"signed": signed is not None, "signer": signer, "required": required}


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _data_spec(project: Project, model: ModelConfig, override: str | None) -> DataSpec:
    section = model.data
    if section is None or not section.target:
        raise ConfigError(
            f"model {model.name} has no evaluation data: add data: {{path: ..., target: ...}} to it "
            "in champion.yaml"
        )
    path = Path(override) if override else project.root / section.path
    return DataSpec(
        path=path,
        target=section.target,
        slices=section.slices,
        weight=section.weight,
        dtypes=dict(section.dtypes),
        dtypes_key=f"{model.source}: models.{model.name}.data.dtypes",
    )


def _measure(
    project: Project,
    model: ModelConfig,
    cand: LoadedModel,
    champ: baselines.Champion | None,
    base: baselines.Baseline,
    spec: DataSpec,
    stats: Stats,
    timings: dict[str, float],
    record_to: Path | None,
) -> tuple[Measured, Recording | None]:
    task = model.task or infer_task(cand.obj)
    reader = Reader(spec)
    k = len(getattr(cand.obj, "classes_", ())) or 2
    names = list(model.metrics) or DEFAULT_METRICS[task]
    specs = metrics.resolve_metrics(names, task, k)
    cand_plan = feature_plan(cand.obj, reader, f"candidate {cand.source}", task)
    loaded = champ.loaded if champ else None
    champ_plan = (
        feature_plan(loaded.obj, reader, f"champion {loaded.source}", task) if loaded else None
    )
    operational = [s for s in specs if s.name.startswith("latency_") or s.name == "size_bytes"]
    measured = [s for s in specs if s not in operational]
    ev = evaluate_rows(
        reader,
        task,
        (cand.obj, cand_plan),
        (loaded.obj, champ_plan) if loaded else None,
        latency=any(s.name.startswith("latency_") for s in operational),
        recorded=champ.outputs if champ else None,
    )
    if champ and champ.outputs is not None and reader.sha256 != champ.data_sha256:
        raise DataError(f"evaluation data {spec.display} changed while it was evaluated")
    timings["read_s"] = ev.read_seconds
    for who, seconds in ev.predict_seconds.items():
        timings[f"predict_{who}_s"] = seconds
    t = time.perf_counter()
    values = metrics.compute(
        measured,
        ev.truth,
        ev.candidate,
        ev.champion,
        level=stats.level,
        resamples=stats.resamples,
        seed=stats.seed,
    )
    values += _operational(operational, ev, cand, champ, stats)
    timings["metrics_s"] = time.perf_counter() - t
    t = time.perf_counter()
    slices = _slices(model, ev, specs=measured, stats=stats)
    timings["slices_s"] = time.perf_counter() - t
    dtypes = reader.dtypes
    cand_sig = signature.of_model(cand.obj, task, cand_plan.used, dtypes)
    champ_sig = None
    if champ is not None:
        recorded_sig = (base.metadata or {}).get("signature")
        # The recorded signature keeps the dtypes of the champion's own data; a version recorded
        # before champion asked models which columns they use may list columns it never used.
        if isinstance(recorded_sig, dict):
            champ_sig = signature.Signature.from_dict(recorded_sig)
            if champ_plan is not None:
                champ_sig = champ_sig.restricted(champ_plan.used)
        elif loaded is not None and champ_plan is not None:
            champ_sig = signature.of_model(loaded.obj, task, champ_plan.used, dtypes)
    data = {
        "path": _display(reader.spec.path, project.root),
        "sha256": reader.sha256,
        "bytes": reader.size,
        "rows": ev.truth.n,
        "target": reader.spec.target,
        "weight": reader.spec.weight,
        "slices": list(reader.spec.slices),
        "classes": [str(c) for c in ev.truth.classes],
    }
    recording = _record(cand, ev, reader, record_to) if record_to is not None else None
    return Measured(task, data, values, (champ_sig, cand_sig), slices), recording


def _record(cand: LoadedModel, ev: Evaluated, reader: Reader, path: Path) -> Recording | None:
    outputs = ev.raw["candidate"]
    if recorded.recordable(outputs) is not None:
        return None
    sha256, size = recorded.write(outputs, path)
    meta = {
        "sha256": sha256,
        "bytes": size,
        "rows": outputs.rows,
        "data_sha256": reader.sha256,
        "read": baselines.read_settings(reader.spec),
    }
    return Recording(path, meta, environment.model_libraries(cand.obj))


def _operational(
    specs: Sequence[metrics.MetricSpec],
    ev: Evaluated,
    cand: LoadedModel,
    champ: baselines.Champion | None,
    stats: Stats,
) -> list[metrics.MetricValue]:
    out = []
    for spec in specs:
        if spec.name == "size_bytes":
            out.append(metrics.size_metric(champ.size if champ else None, cand.size))
            continue
        q = 0.5 if spec.name == "latency_p50_ms" else 0.95
        value = metrics.latency_metric(
            spec.name,
            q,
            ev.latency_ms.get("champion"),
            ev.latency_ms["candidate"],
            level=stats.level,
            resamples=stats.resamples,
            seed=stats.seed,
        )
        if champ is not None and champ.loaded is None:
            value = replace(value, note=f"the champion's latency is not measured: {champ.note}")
        out.append(value)
    return out


def _subset(p: Predictions | None, mask: np.ndarray[Any, Any]) -> Predictions | None:
    if p is None:
        return None
    return Predictions(
        labels=p.labels[mask] if p.labels is not None else None,
        proba=p.proba[mask] if p.proba is not None else None,
        score=p.score[mask] if p.score is not None else None,
        values=p.values[mask] if p.values is not None else None,
    )


@dataclass(frozen=True)
class SliceResult:
    column: str
    value: str
    rows: int
    values: list[metrics.MetricValue]

    @property
    def label(self) -> str:
        return f"{self.column}={self.value}"


def _slices(
    model: ModelConfig, ev: Evaluated, specs: Sequence[metrics.MetricSpec], stats: Stats
) -> list[SliceResult]:
    gate_section = model.gate
    wanted = set((gate_section.get("slices") or {}).get("rules") or {}) | {
        k for k in gate_section if k not in _SPECIAL_GATE_KEYS
    }
    slice_specs = [s for s in specs if s.name in wanted] or list(specs)
    results = []
    for column, (codes, values) in ev.slices.items():
        counts = np.bincount(codes, minlength=len(values))
        for code in np.argsort(-counts)[:MAX_SLICE_VALUES]:
            mask = codes == code
            truth = Truth(
                ev.truth.task,
                ev.truth.y[mask],
                ev.truth.classes,
                ev.truth.weight[mask] if ev.truth.weight is not None else None,
            )
            cand = _subset(ev.candidate, mask)
            assert cand is not None
            measured = metrics.compute(
                slice_specs,
                truth,
                cand,
                _subset(ev.champion, mask),
                level=stats.level,
                resamples=stats.resamples,
                seed=stats.seed,
            )
            results.append(SliceResult(column, values[code], int(counts[code]), measured))
    return results


def _metrics_only(model: ModelConfig, cand: LoadedModel, champ: LoadedModel | None) -> Measured:
    items = list(model.metrics)
    if not items:
        raise ConfigError(
            f"model {model.name} is metrics-only (format: metrics): list the metrics to compare under "
            "metrics:, each a known name or {name, direction}"
        )
    values = from_files(items, cand.obj, champ.obj if champ else None, cand.source)
    return Measured(model.task, None, values, (None, None), [])


def _header(
    model: ModelConfig,
    cand: LoadedModel,
    champ: baselines.Champion | None,
    base: baselines.Baseline,
    stats: Stats,
) -> dict[str, Any]:
    import sklearn

    champion = None
    if champ is not None:
        champion = {
            "version": str(base.version) if base.version else None,
            "tag": base.tag,
            "stage": base.stage,
            "commit": base.commit,
            "source": champ.source,
            "sha256": champ.sha256,
            "bytes": champ.size,
            "format": champ.format,
            "loader": champ.loader,
            # Which path gave the champion's predictions: recorded at its release, or its model.
            "predictions": {
                "from": "recorded" if champ.outputs is not None else "model",
                "note": champ.note,
            },
        }
    return {
        "schema": REPORT_SCHEMA,
        "model": model.name,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": {
            "champion": __version__,
            "python": platform.python_version(),
            "scikit_learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "format": cand.format,
        "loader": cand.loader,
        "candidate": {"source": cand.source, "sha256": cand.sha256, "bytes": cand.size},
        "champion": champion,
        "initial": champ is None,
        "stats": {"level": stats.level, "resamples": stats.resamples, "seed": stats.seed},
        # The comment links the run that evaluated, not the run that comments.
        "run_url": context.run_url(),
    }


def _verdicts(
    project: Project, model: ModelConfig, measured: Measured, has_champion: bool, state: ModelState
) -> dict[str, Any]:
    values, slices = measured.values, measured.slices
    section = model.gate
    rules = {k: v for k, v in section.items() if k not in _SPECIAL_GATE_KEYS}
    slice_section = section.get("slices") or {}
    min_size = int(slice_section.get("min_size", 0))
    judged = {s.label: s.values for s in slices if s.rows >= min_size}
    unjudged = {
        s.label: f"{s.rows} rows, under min_size {min_size}: not judged"
        for s in slices
        if s.rows < min_size and slice_section.get("rules")
    }
    result = gate.judge(
        values,
        rules,
        section.get("policy") or {},
        has_champion=has_champion,
        slice_metrics=judged,
        slice_rules=slice_section.get("rules") or {},
        unjudged_slices=unjudged,
    )
    champ_sig, cand_sig = measured.signatures
    # Only a gated quality metric's improvement counts towards a minor (not latency or size).
    quality = [name for name in rules if name not in signature.OPERATIONAL]
    improved = gate.significantly_improved(values, quality)
    if cand_sig is not None and champ_sig is None and has_champion:
        reasons = tuple(f"{m} improved significantly" for m in improved)
        sig_diff = signature.SignatureDiff(
            "minor" if improved else "patch",
            (*reasons, "the champion's signature is unknown (not recorded in its tag)"),
        )
    elif cand_sig is not None:
        sig_diff = signature.diff(champ_sig, cand_sig, improved)
    else:  # metrics-only: no signature, the metrics alone decide
        bump = "minor" if improved or not has_champion else "patch"
        reason = (
            ("initial version",)
            if not has_champion
            else tuple(f"{m} improved significantly" for m in improved)
            or ("no significant improvement",)
        )
        sig_diff = signature.SignatureDiff(bump, reason)
    suggestion = signature.suggest(sig_diff, gate_passed=result.passed)
    highest = max((v.version for v in state.versions), default=None)
    if suggestion.bump == signature.NO_RELEASE:
        suggested: str | None = None
    else:
        suggested = str(highest.bump(suggestion.bump) if highest else project.config.first_version)
    return {
        "metrics": [_metric_dict(v, rules.get(v.name), result.verdict_of(v.name)) for v in values],
        "slices": [
            {
                "column": s.column,
                "value": s.value,
                "rows": s.rows,
                "judged": s.label in judged,
                "metrics": [
                    _metric_dict(
                        v,
                        (slice_section.get("rules") or {}).get(v.name),
                        result.verdict_of(v.name, s.label),
                    )
                    for v in s.values
                ],
            }
            for s in slices
        ],
        "signature": {
            "champion": champ_sig.as_dict() if champ_sig else None,
            "candidate": cand_sig.as_dict() if cand_sig else None,
            "changes": list(sig_diff.changes),
            "bump": sig_diff.bump,
            "reasons": list(sig_diff.reasons),
        },
        "suggested": {
            "bump": suggestion.bump,
            "from": str(highest) if highest else None,
            "version": suggested,
            "reasons": list(suggestion.reasons),
        },
        "gate": {
            "verdict": "passed" if result.passed else "failed",
            "passed": result.passed,
            "findings": [f.as_dict() for f in result.findings],
            "reasons": [f.message for f in result.failures],
            "policy": {**gate.DEFAULT_POLICY, **(section.get("policy") or {})},
        },
    }


def _metric_dict(
    v: metrics.MetricValue, rule: Mapping[str, Any] | None, verdict: str
) -> dict[str, Any]:
    interval = None
    if v.interval is not None:
        interval = {
            "low": v.interval.low,
            "high": v.interval.high,
            "level": v.interval.level,
            "method": v.interval.method,
        }
    return {
        "name": v.name,
        "direction": v.direction,
        "champion": v.champion,
        "candidate": v.candidate,
        "delta": v.delta,
        "interval": interval,
        "rule": dict(rule) if rule else None,
        "verdict": verdict,
        "note": v.note or None,
    }
