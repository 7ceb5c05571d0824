"""evaluate marks an unsigned champion in report.json (schema-checked) and its markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from champion.evaluation.report import read_report
from champion.render.markdown import render_comment
from testing.keys import make_key
from testing.models import save, train, write_eval
from testing.repos import make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

CONFIG = """\
models:
  churn:
    path: models/churn.joblib
    data: {path: data/eval.csv, target: target}
    metrics: [roc_auc]
    stats: {resamples: 50}
    gate:
      roc_auc: {max_regression: 0.5}
"""


@pytest.mark.parametrize("signed", [True, False])
def test_the_report_says_whether_the_champion_is_signed(
    tmp_path: Path, capsys: Capsys, signed: bool
) -> None:
    keys = make_key(tmp_path / "keys")
    policy = "signing: {required: true, public_key: release.pub.pem}\n"
    repo = make_repo(tmp_path, CONFIG + policy, commit=False)
    (repo.path / "release.pub.pem").write_bytes(keys.public.read_bytes())
    save(train("good"), repo.path / "models/churn.joblib")
    write_eval(repo.path / "data/eval.csv")
    repo.git("add", ".")
    repo.git("commit", "-qm", "champion")
    sign = ["--sign", "--signing-key", str(keys.private)] if signed else []
    assert run_cli(capsys, repo.path, "register", "churn", "--version", "0.1.0", *sign).code == 0
    if not signed:  # promote would refuse it under the policy: the policy came later
        config = repo.path / "champion.yaml"
        config.write_text(CONFIG)
        assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
        config.write_text(CONFIG + policy)
    else:
        assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    save(train("weak"), repo.path / "models/churn.joblib")
    out = tmp_path / "report.json"
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out), "--no-fail")
    assert result.code == 0, result.err
    report = read_report(out)  # validated against the schema
    marks = report["champion"]["signing"]
    assert marks["signed"] is signed and marks["required"] is True
    text = render_comment(report)
    if signed:
        assert marks["signer"].startswith("key ")
        assert "signed by key" in text
    else:
        assert marks["signer"] is None
        assert "**unsigned**, although signing.required is set" in text
