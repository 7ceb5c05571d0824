"""`champion demo`: the whole flow, end to end, on the embedded example in project/.

A real git repository with a bare origin, a real DVC remote in a temp folder, a real scikit-learn
model, and the same model exported to ONNX (a model that is not a pickle). Every step runs the
real command line (git, dvc and champion, as a user types them: the one place outside git.py that
starts git, on purpose), shown as it runs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from champion import console
from champion.artifacts import describe
from champion.demo.metrics_server import scripted_metrics
from champion.errors import ChampionError

MODEL = "diagnosis"
ONNX_MODEL = "diagnosis-onnx"
EXAMPLE_FILES = ("train.py", "champion.yaml", "dvc.yaml")
# Production's error rate under v0.3.0, one value per reading: one spike (no action), then a climb.
ERROR_RATES = (0.011, 0.013, 0.064, 0.012, 0.021, 0.058, 0.071, 0.089, 0.12)
# What a service runs: it reads the pointer, fetches and verifies the artifact, and serves it.
SERVICE = """\
import csv, json, sys

from champion.runtime import LiveModel

model_name, pointers, cache, data = sys.argv[1:5]
model = LiveModel(model_name, pointers, cache)
with open(data) as f:
    reader = csv.reader(f)
    next(reader)  # the header
    rows = [[float(x) for x in row[:-1]] for _, row in zip(range(3), reader)]
print(
    "serving", model_name, model.version, "predictions for 3 rows:",
    [int(p) for p in model.predict(rows)],
)
print("health:", json.dumps(model.health(), sort_keys=True))
"""


class _Demo:
    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.project = workspace / "project"
        self.origin = workspace / "origin.git"
        self.dvc_remote = workspace / "dvc-remote"
        self.env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}
        self.env.pop("GITHUB_STEP_SUMMARY", None)  # the demo prints what a summary would hold
        for who in ("AUTHOR", "COMMITTER"):
            self.env.setdefault(f"GIT_{who}_NAME", "Champion Demo")
            self.env.setdefault(f"GIT_{who}_EMAIL", "demo@champion.invalid")

    def run(
        self, *args: str, cwd: Path | None = None, show: bool = True, ok: tuple[int, ...] = (0,)
    ) -> str:
        shown = {sys.executable: "python", str(Path(sys.executable).parent / "gto"): "gto"}
        words = list(args)
        if words[:2] == [sys.executable, "-m"]:
            words = words[2:]  # `python -m champion` reads as `champion`
        printable = " ".join(shlex.quote(shown.get(w, w)) for w in words)
        if show:
            console.line(f"$ {printable}")
        proc = subprocess.run(
            args, cwd=cwd or self.project, env=self.env, capture_output=True, text=True
        )
        if proc.returncode not in ok:
            raise ChampionError(
                f"demo step `{printable}` failed ({proc.returncode}):\n{proc.stderr.strip()}"
            )
        if show and proc.stdout.strip():
            for text in proc.stdout.rstrip().splitlines():
                console.line(f"  {text}")
        return proc.stdout

    def champion(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        return self.run(sys.executable, "-m", "champion", *args, ok=ok)

    def dvc(self, *args: str) -> str:
        return self.run(sys.executable, "-m", "dvc", *args)

    def git(self, *args: str, show: bool = False) -> str:
        return self.run("git", *args, show=show)

    def step(self, title: str) -> None:
        console.line()
        console.line(f"== {title}")

    def set_up(self) -> None:
        self.step(f"workspace {self.workspace}: a bare git origin, a DVC remote, a project")
        self.dvc_remote.mkdir(parents=True)
        self.project.mkdir(parents=True)
        self.run("git", "init", "-q", "--bare", "-b", "main", str(self.origin), cwd=self.workspace)
        self.git("init", "-q", "-b", "main", show=True)
        self.git("remote", "add", "origin", str(self.origin), show=True)
        example = resources.files("champion.demo") / "project"
        for name in EXAMPLE_FILES:
            (self.project / name).write_text(
                (example / name).read_text(encoding="utf-8"), encoding="utf-8"
            )
        self.dvc("init", "-q")
        self.dvc("remote", "add", "-d", "local", str(self.dvc_remote))
        self.git("add", ".")
        self.git("commit", "-q", "-m", "Set up the diagnosis model project", show=True)
        self.git("push", "-q", "origin", "main", show=True)

    def train_and_commit(self, kind: str, message: str) -> None:
        self.run(sys.executable, "train.py", "--model", kind)
        self.dvc("add", "-q", f"models/{MODEL}.joblib", "data/eval.csv")
        self.git(
            "add",
            f"models/{MODEL}.joblib.dvc",
            "data/eval.csv.dvc",
            "models/.gitignore",
            "data/.gitignore",
        )
        self.git("commit", "-q", "-m", message, show=True)
        self.dvc("push", "-q")
        branch = self.git("branch", "--show-current").strip()
        self.git("push", "-q", "origin", branch, show=True)

    def show_pointer(self, folder: str = "pointers") -> None:
        pointer = self.workspace / folder / "prod.json"
        data = json.loads(pointer.read_text(encoding="utf-8"))
        artifact = data["artifact"]
        console.line(f"$ cat {pointer.relative_to(self.workspace.parent)}")
        console.line(
            f"  version {data['version']} ({data['tag']}, counter {data['counter']}), "
            f"{artifact['format']} artifact sha256 {artifact['sha256'][:16]}… at {artifact['url']}"
        )

    def serve(self, model: str = MODEL, folder: str = "pointers") -> None:
        """What a service runs: champion.runtime.LiveModel, in a process of its own."""
        service = self.workspace / "service.py"
        service.write_text(SERVICE, encoding="utf-8")
        self.run(
            sys.executable,
            str(service),
            model,
            str(self.workspace / folder),
            str(self.workspace / "serving-cache"),
            str(self.project / "data" / "eval.csv"),
            cwd=self.workspace,
        )

    def onnx(self) -> None:
        """A model that is not a pickle, end to end: ONNX, from the `.onnx` suffix."""
        self.step(
            f"a model that is no pickle: {ONNX_MODEL}, the classifier exported to ONNX "
            "(format inferred from .onnx; onnxruntime runs it)"
        )
        missing = [m for m in ("skl2onnx", "onnxruntime", "onnx") if find_spec(m) is None]
        if missing:
            console.line(
                f"  skipped: it needs {', '.join(missing)}; pip install 'champion[onnx]' skl2onnx"
            )
            return
        self.run(sys.executable, "train.py", "--model", "logreg", "--format", "onnx")
        self.git("add", "models/diagnosis.onnx")
        self.git("commit", "-q", "-m", "Export the baseline to ONNX", show=True)
        self.git("push", "-q", "origin", "main")
        self.champion("register", ONNX_MODEL, "--push")
        self.champion("promote", ONNX_MODEL, "0.1.0", "--stage", "prod", "--push")
        self.run(sys.executable, "train.py", "--model", "boosting", "--format", "onnx")
        self.champion("evaluate", ONNX_MODEL, "--out", str(self.workspace / "report-onnx.json"))
        self.git("commit", "-q", "-am", "Export gradient boosting to ONNX (#3)", show=True)
        self.git("push", "-q", "origin", "main")
        self.champion("release", ONNX_MODEL, "--promote", "prod", "--push")
        self.show_pointer("pointers-onnx")
        self.serve(ONNX_MODEL, "pointers-onnx")

    def signing_key(self) -> list[str]:
        """A key pair made for the demo, and the release options that sign with it; none when
        the `signing` extra is not installed (the demo says so and goes on)."""
        from champion.signing import SigningUnavailable
        from champion.signing.bundle import require

        try:
            require()
        except SigningUnavailable as e:
            self.step(f"v0.2.0 is released unsigned: {e}")
            return []
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.step(
            "sign the release: an EC key pair (as `openssl ecparam -name prime256v1 -genkey` "
            "makes), its private half a CI secret, its public half for whoever verifies"
        )
        key = ec.generate_private_key(ec.SECP256R1())
        keys = self.workspace / "keys"
        keys.mkdir()
        private = keys / "release.pem"
        private.touch(mode=0o600)
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (keys / "release.pub.pem").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return ["--sign", "--signing-key", str(private)]

    def verify_signature(self, version: str) -> None:
        """champion verify passes for the version as the remotes hold it, and fails for a
        tampered copy: a mirror whose DVC remote had the artifact's bytes changed."""
        public = str(self.workspace / "keys" / "release.pub.pem")
        bundle = str(self.workspace / f"{MODEL}-{version}.sig")
        self.step(f"{MODEL} {version} is signed (OpenSSF model-signing): champion verify checks it")
        self.champion("verify", MODEL, version, "--key", public, "--export-signature", bundle)
        self.step("a tampered copy: a mirror whose DVC remote had the model's bytes changed")
        mirror = self.workspace / "tampered-mirror"
        self.run("git", "clone", "-q", str(self.origin), str(mirror / "clone"), cwd=self.workspace)
        shutil.copytree(self.dvc_remote, mirror / "dvc-remote")
        import yaml

        dvc_file = self.project / "models" / f"{MODEL}.joblib.dvc"
        md5 = yaml.safe_load(dvc_file.read_text())["outs"][0]["md5"]
        target = mirror / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]
        target.chmod(0o644)
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one byte flipped
        target.write_bytes(bytes(data))
        clone = mirror / "clone"
        self.run(
            sys.executable, "-m", "dvc", "remote", "modify", "local", "url",
            str(mirror / "dvc-remote"), cwd=clone, show=False,
        )  # fmt: skip
        self.run(
            sys.executable, "-m", "champion", "verify", MODEL, version, "--key", public,
            cwd=clone, ok=(1,),
        )  # fmt: skip

    def verify_from_a_fresh_clone(self, version: str) -> None:
        """What a rollback relies on: any version's artifact comes back from the remotes alone."""
        self.step(
            f"a fresh clone fetches {MODEL} {version} from the DVC remote and checks its sha256"
        )
        clone = self.workspace / "fresh-clone"
        self.run("git", "clone", "-q", str(self.origin), str(clone), cwd=self.workspace)
        info = json.loads(
            self.run(
                sys.executable, "-m", "champion", "versions", MODEL, "--json", cwd=clone, show=False
            )
        )
        [entry] = [v for v in info["versions"] if v["version"] == version]
        recorded = entry["metadata"]["artifact"]["sha256"]
        fetched = describe(clone, entry["metadata"]["artifact"]["path"], entry["commit"])
        if fetched.sha256 != recorded:
            raise ChampionError(
                f"{MODEL} {version}: the artifact fetched from the DVC remote has sha256 "
                f"{fetched.sha256}, but its tag recorded {recorded}"
            )
        console.line(
            f"  {entry['tag']}: {fetched.size} bytes via {fetched.tracked_by}, "
            f"sha256 {fetched.sha256[:16]}… matches the tag"
        )


def run(workdir: str | None = None) -> int:
    keep = workdir is not None
    workspace = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="champion-demo-"))
    if keep and workspace.exists() and any(workspace.iterdir()):
        raise ChampionError(f"--workdir {workspace} is not empty: pass a new or empty folder")
    workspace.mkdir(parents=True, exist_ok=True)
    d = _Demo(workspace.resolve())
    try:
        d.set_up()

        d.step("train a first model, track it with DVC, register and promote it")
        d.train_and_commit("logreg", "Train the logistic-regression baseline")
        d.champion("register", MODEL, "-m", "logistic-regression baseline", "--push")
        d.champion("promote", MODEL, "0.1.0", "--stage", "prod", "--push")

        d.step("a pull request retrains the model; CI gates it against the live v0.1.0")
        d.git("checkout", "-q", "-b", "retrain-forest", show=True)
        d.train_and_commit("forest", "Retrain as a random forest")
        d.champion("evaluate", MODEL, "--out", str(d.workspace / "report.json"))
        d.step("the sticky comment the pull request gets (champion summary renders the same)")
        d.champion("summary", "--report", str(d.workspace / "report.json"))

        d.step("merge the pull request (squash, with a Model-Bump trailer) and release it")
        d.git("checkout", "-q", "main", show=True)
        d.git("merge", "-q", "--squash", "retrain-forest", show=True)
        d.git(
            "commit", "-q", "-m", "Retrain as a random forest (#1)\n\nModel-Bump: minor", show=True
        )
        d.dvc("checkout", "-q")
        d.git("push", "-q", "origin", "main", show=True)
        signing = d.signing_key()
        d.champion("release", MODEL, "--promote", "prod", "--push", *signing)
        d.champion("promote", MODEL, "0.2.0", "--stage", "staging", "--push")
        if signing:
            d.verify_signature("0.2.0")

        d.step("what is live, and how it got there")
        d.champion("status")
        d.champion("history", MODEL)
        gto = Path(sys.executable).parent / "gto"
        if gto.exists():
            d.step("GTO reads the same tags (DVC's artifacts_show does too)")
            d.run(str(gto), "show", MODEL)

        d.step("another release, v0.3.0 (gradient boosting), goes live in prod")
        d.train_and_commit("boosting", "Retrain with gradient boosting (#2)\n\nModel-Bump: minor")
        d.champion("release", MODEL, "--promote", "prod", "--push")
        d.show_pointer()

        d.step(
            "production's error rate climbs under v0.3.0: champion watch sees a sustained breach "
            "and rolls prod back (a single spike does nothing; --cooldown 0s because v0.3.0 went "
            "live seconds ago)"
        )
        with scripted_metrics("error_rate", ERROR_RATES) as url:
            # Exit 1: breached (and rolled back); a scheduled workflow shows it as a failed run.
            d.champion(
                "watch", MODEL, "--source", url, "--rule", "error_rate < 0.05", "--window", "3",
                "--interval", "0.2s", "--for", "5s", "--cooldown", "0s", "--rollback", "--push",
                ok=(1,),
            )  # fmt: skip
        console.line(
            f"  (by hand, the same rollback is: champion rollback {MODEL} --reason TEXT --push)"
        )
        d.champion("status", MODEL)
        d.champion("history", MODEL)
        d.step("the pointer, and a service's LiveModel, follow: both name v0.2.0")
        d.show_pointer()
        d.serve()

        d.onnx()
        d.verify_from_a_fresh_clone("0.1.0")
        # Outside the workspace unless it is kept: the site outlives the demo, to be looked at.
        site = workspace / "site" if keep else Path(tempfile.mkdtemp(prefix="champion-demo-site-"))
        d.step("the registry as a static site (what workflows-examples/site.yml publishes)")
        d.champion("site", "--out", str(site.resolve()))
        console.line()
        console.line("demo finished: every step above ran the real command line")
        console.line(f"open the site in a browser: {(site / 'index.html').resolve()}")
    finally:
        if keep:
            console.line(f"workspace kept at {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)
    return 0
