"""The hostile half of the fault sweep (issue 14), repeatable: what champion does with tampered
artifacts, hostile champion.yaml and report.json files, and a GitHub that echoes the token.

Every run is a fresh `champion` process, as in CI; the script counts what came out:

1. Tampered artifacts. A project whose model versions are real scikit-learn models, DVC-tracked
   in a local DVC remote (and one tracked by git, copied beside the pointer). A version's object
   in the DVC remote, or the copy beside the pointer, is replaced by a pickle that creates a
   marker file when anything unpickles it; then promote, canary start, publish and rollback run,
   and a LiveModel loads the pointer. Counted: exit codes, markers written, and "false ok" (exit 0
   while the pointer names bytes other than the ones it records).
2. Hostile champion.yaml files (recursive and "billion laughs" aliases, NaN/inf tolerances,
   5000-digit numbers, deep nesting, 120k models, a 2 MiB file, invalid UTF-8, bidi names ...)
   against status, register, evaluate and release. Counted: exit codes, runs over --timeout.
3. Hostile report.json files (200k-deep nesting, lone surrogates, 5000-digit numbers, NaN and
   Infinity, bidi and escape sequences ...) against summary. Counted: exit codes, outputs
   showing "nan"/"inf", raw bidi or escape characters.
4. A loopback GitHub answering every call with one status (200 malformed, 401, 403, 404, 422,
   500) and the Authorization header echoed in the body, cut where champion cuts, against
   comment, release --github-release, promote and rollback --dispatch-workflow, with and without
   CHAMPION_DEBUG. Counted: exit codes, leaks (any 8 characters of the token in stdout, stderr
   or champion-error.log).

Each command runs with a 4 GiB address-space limit and --timeout seconds (so the sweep can be run
against an older champion, e.g. with PYTHONPATH=../main/src, without a "billion laughs" taking
the machine's memory). Exits 1 when any count is wrong (a marker, a false ok, a leak, exit 1 or 3, a hang); else 0.

    .venv/bin/python bench/faults_hostile.py [--workdir DIR] [--timeout 60] [--jobs 4]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL = "clf"
TOKEN = "ghs_Bench0Hostile0Token0Value0123456789ab"
CONFIG = f"""\
stages: [staging, prod]
models:
  {MODEL}:
    path: models/{MODEL}.joblib
    pointer: ../pointers
"""
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
for _var in [v for v in ENV if v.startswith("GITHUB_") or v == "CHAMPION_DEBUG"]:
    ENV.pop(_var)
CHAMPION = [sys.executable, "-m", "champion"]
DVC = [sys.executable, "-m", "dvc"]
HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200c-\u200f\u2060\ufeff\u061c\x1b]")


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    timed_out: bool = False


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed in {cwd}:\n{proc.stderr[-2000:]}")
    return proc.stdout


MEMORY_LIMIT = 4 << 30  # per command: a "billion laughs" must not take the machine down with it


# Sets the limit, then becomes the command (a preexec_fn is unsafe with this script's threads).
LIMITED = [
    sys.executable,
    "-c",
    "import os, resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
    "os.execvp(sys.argv[1], sys.argv[1:])",
]


def run(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> Run:
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [*LIMITED, *cmd], cwd=cwd, env=env or ENV, capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        return Run(-1, out, err, time.perf_counter() - start, timed_out=True)
    return Run(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.perf_counter() - start,
    )


@dataclass
class Tally:
    name: str
    runs: int = 0
    codes: collections.Counter[int] = field(default_factory=collections.Counter)
    problems: list[str] = field(default_factory=list)
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, result: Run, allowed: tuple[int, ...] = (0, 2)) -> None:
        with self.lock:
            self.runs += 1
            self.codes["timeout" if result.timed_out else result.code] += 1  # type: ignore[index]
            if result.timed_out:
                self.problems.append(f"{label}: over the timeout ({result.seconds:.0f} s)")
            elif result.code not in allowed:
                first = (result.err.strip().splitlines() or ["(no stderr)"])[-1][:200]
                self.problems.append(f"{label}: exit {result.code}: {first}")

    def count(self, what: str, label: str, bad: bool) -> None:
        with self.lock:
            self.counts[what] += int(bad)
            if bad:
                self.problems.append(f"{label}: {what}")


# --- 1. tampered artifacts --------------------------------------------------------------------


def payload(marker: Path) -> bytes:
    """A pickle whose loading creates `marker` (open(marker, "w")), joblib.load included."""

    class Marks:
        def __reduce__(self) -> tuple[Any, tuple[str, str]]:
            import io

            return io.open, (str(marker), "w")

    return pickle.dumps(Marks())


def build_project(base: Path) -> None:
    """base/work (git, DVC, champion.yaml), base/origin.git, base/dvc-remote, base/pointers:
    clf 0.1.0 and 0.2.0, real models, DVC-tracked; 0.1.0 live in prod, its pointer published."""
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    repo, origin = base / "work", base / "origin.git"
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], base)
    sh(["git", "init", "-q", "-b", "main", str(repo)], base)
    sh(["git", "remote", "add", "origin", "../origin.git"], repo)
    (repo / "champion.yaml").write_text(CONFIG)
    sh([*DVC, "init", "-q"], repo)
    sh([*DVC, "remote", "add", "-d", "local", "../dvc-remote"], repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-q", "-m", "project"], repo)
    x, y = make_classification(n_samples=500, n_features=8, random_state=0)
    (repo / "models").mkdir()
    for n in (1, 2):
        joblib.dump(LogisticRegression(C=0.1 * n).fit(x, y), repo / "models" / f"{MODEL}.joblib")
        sh([*DVC, "add", "-q", f"models/{MODEL}.joblib"], repo)
        sh([*DVC, "push", "-q"], repo)
        sh(["git", "add", "-A"], repo)
        sh(["git", "commit", "-q", "-m", f"train {n}"], repo)
        sh(["git", "push", "-q", "origin", "main"], repo)
        sh([*CHAMPION, "register", MODEL, "--version", f"0.{n}.0", "--push"], repo)
    sh([*CHAMPION, "promote", MODEL, "0.1.0", "--stage", "prod", "--push"], repo)


def build_git_project(base: Path) -> None:
    """The same, the model tracked by git: the pointer's artifact is a copy beside it."""
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    repo, origin = base / "work", base / "origin.git"
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], base)
    sh(["git", "init", "-q", "-b", "main", str(repo)], base)
    sh(["git", "remote", "add", "origin", "../origin.git"], repo)
    (repo / "champion.yaml").write_text(CONFIG)
    x, y = make_classification(n_samples=500, n_features=8, random_state=0)
    (repo / "models").mkdir()
    for n in (1, 2):
        joblib.dump(LogisticRegression(C=0.1 * n).fit(x, y), repo / "models" / f"{MODEL}.joblib")
        sh(["git", "add", "-A"], repo)
        sh(["git", "commit", "-q", "-m", f"train {n}"], repo)
        sh(["git", "push", "-q", "origin", "main"], repo)
        sh([*CHAMPION, "register", MODEL, "--version", f"0.{n}.0", "--push"], repo)
    sh([*CHAMPION, "promote", MODEL, "0.1.0", "--stage", "prod", "--push"], repo)


def dvc_object(base: Path, version: str) -> Path:
    """The DVC remote's object of `version` (its md5 from the .dvc file at the version's tag)."""
    text = sh(["git", "show", f"{MODEL}@v{version}:models/{MODEL}.joblib.dvc"], base / "work")
    md5 = re.search(r"md5: ([0-9a-f]{32})", text)
    assert md5 is not None
    return base / "dvc-remote" / "files" / "md5" / md5[1][:2] / md5[1][2:]


def plant(target: Path, data: bytes) -> None:
    target.unlink()
    target.write_bytes(data)


def false_ok(base: Path, result: Run) -> bool:
    """Exit 0, and the pointer names bytes whose sha256 is not the one it records."""
    if result.code != 0:
        return False
    data = json.loads((base / "pointers" / "prod.json").read_text())
    for ref in [data["artifact"], *([data["canary"]["artifact"]] if data.get("canary") else [])]:
        got = hashlib.sha256(Path(ref["url"]).read_bytes()).hexdigest()
        if got != ref["sha256"]:
            return True
    return False


def live_model(base: Path, timeout: float) -> Run:
    code = (
        "import sys\n"
        "from champion.runtime import LiveModel, RuntimeLoadError\n"
        "try:\n"
        f"    LiveModel({MODEL!r}, {str(base / 'pointers')!r}, {str(base / 'cache')!r})\n"
        "except RuntimeLoadError as e:\n"
        "    print(e, file=sys.stderr)\n"
        "    sys.exit(2)\n"
    )
    return run([sys.executable, "-c", code], base, timeout)


Scenario = Callable[[Path, Path], list[tuple[str, list[str]]]]


def tampered(workdir: Path, timeout: float) -> Tally:
    tally = Tally("tampered artifacts")
    dvc_template, git_template = workdir / "tpl-dvc", workdir / "tpl-git"
    dvc_template.mkdir()
    git_template.mkdir()
    build_project(dvc_template)
    build_git_project(git_template)

    def fresh(template: Path, name: str) -> Path:
        base = workdir / "tamper" / name
        shutil.copytree(template, base, symlinks=True)
        sh([*CHAMPION, "publish", MODEL], base / "work")  # the pointer names this copy's files
        return base

    def check(
        label: str, base: Path, marker: Path, argv: list[str], allowed: tuple[int, ...]
    ) -> None:
        result = run([*CHAMPION, *argv], base / "work", timeout)
        tally.add(label, result, allowed)
        tally.count("false ok", label, false_ok(base, result))
        tally.count("marker written", label, marker.exists())
        loaded = live_model(base, timeout)  # refuses tampered bytes, loads intact ones
        tally.add(f"{label}, then LiveModel", loaded, (0, 2))
        tally.count("marker written", f"{label}, then LiveModel", marker.exists())

    cases: list[tuple[str, Path, str, Callable[[Path], Path], list[str], tuple[int, ...]]] = [
        ("promote a version tampered in the DVC remote", dvc_template, "0.2.0",
         lambda b: dvc_object(b, "0.2.0"), ["promote", MODEL, "0.2.0", "--stage", "prod", "--push"], (2,)),
        ("canary start of a tampered version", dvc_template, "0.2.0",
         lambda b: dvc_object(b, "0.2.0"), ["canary", "start", MODEL, "0.2.0", "--push"], (2,)),
        ("publish a live version tampered in the DVC remote", dvc_template, "0.1.0",
         lambda b: dvc_object(b, "0.1.0"), ["publish", MODEL], (2,)),
        ("publish after the copy beside the pointer was tampered", git_template, "0.1.0",
         lambda b: next((b / "pointers" / "artifacts").iterdir()), ["publish", MODEL], (0,)),
    ]  # fmt: skip
    for label, template, _version, target, argv, allowed in cases:
        base = fresh(template, re.sub(r"\W+", "-", label))
        marker = base / "UNPICKLED"
        plant(target(base), payload(marker))
        check(label, base, marker, argv, allowed)
    # Rollback to a version tampered since it served.
    base = fresh(dvc_template, "rollback")
    sh([*CHAMPION, "promote", MODEL, "0.2.0", "--stage", "prod", "--push"], base / "work")
    marker = base / "UNPICKLED"
    plant(dvc_object(base, "0.1.0"), payload(marker))
    check("rollback to a version tampered in the DVC remote", base, marker,
          ["rollback", MODEL, "--reason", "sweep", "--push"], (2,))  # fmt: skip
    return tally


# --- 2. hostile champion.yaml -------------------------------------------------------------------


def laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nmodels: {{clf: {{path: m.bin, labels: *l{levels - 1}}}}}\n"


def hostile_configs() -> dict[str, bytes]:
    gate = "models:\n  clf:\n    path: m.bin\n    gate:\n      roc_auc: {{{}: {}}}\n"
    out: dict[str, str | bytes] = {
        "recursive alias": "a: &a [*a]\nmodels: {}\n",
        "recursive mapping": "models: &m {clf: *m}\n",
        "billion laughs": laughs(),
        "deep nesting": "x: " + "[" * 5000 + "]" * 5000 + "\n",
        "120k models": "models:\n" + "".join(f"  m{i}: {{path: m.bin}}\n" for i in range(120_000)),
        "2 MiB comment": "# " + "x" * (2 << 20) + "\nmodels: {}\n",
        "5000-digit seed": f"models:\n  clf:\n    path: m.bin\n    stats: {{seed: {'9' * 5000}}}\n",
        "1e999 floor": gate.format("min", "1e999"),
        "unhashable key": "models:\n  ? [a, b]\n  : {path: m.bin}\n",
        "python object tag": "models: !!python/object/apply:os.system ['touch PWNED']\n",
        "bidi model name": "models:\n  cl\u202ef: {path: m.bin}\n",
        "BOM and NUL": '\ufeffmodels:\n  clf: {path: "m\\0.bin"}\n',
        "invalid UTF-8": b"models:\n  clf: {path: m\xff.bin}\n",
        "top-level list": "- models\n",
        "wrong types": "models:\n  clf: {path: 7, labels: yes, gate: []}\n",
        "duplicate keys": "models:\n  clf: {path: a.bin}\n  clf: {path: b.bin}\n",
        "merge key loop": "base: &b {path: m.bin}\nmodels:\n  clf:\n    <<: [*b, *b, *b]\n",
    }
    for key in ("max_regression", "min", "max_regression_rel", "min_improvement"):
        for value in (".nan", ".inf", "-.inf"):
            out[f"{key}: {value}"] = gate.format(key, value)
    return {k: v.encode() if isinstance(v, str) else v for k, v in out.items()}


def configs(workdir: Path, timeout: float, jobs: int) -> Tally:
    tally = Tally("hostile champion.yaml")
    commands = [
        ["status"],
        ["register", MODEL],
        ["evaluate", MODEL],
        ["release", MODEL],
    ]

    def one(number: int, name: str, text: bytes) -> None:
        base = workdir / "yaml" / f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
        base.mkdir(parents=True)
        sh(["git", "init", "-q", "-b", "main", str(base)], workdir)
        (base / "m.bin").write_bytes(b"model")
        sh(["git", "add", "-A"], base)
        sh(["git", "commit", "-q", "-m", "m"], base)
        (base / "champion.yaml").write_bytes(text)
        for argv in commands:
            result = run([*CHAMPION, *argv], base, timeout)
            label = f"{name}: champion {' '.join(argv)}"
            tally.add(label, result, (2,))
            tally.count("hidden characters shown", label, bool(HIDDEN.search(result.err)))
        tally.count("code ran (PWNED)", name, (base / "PWNED").exists())

    with ThreadPoolExecutor(jobs) as pool:
        items = [(i, name, text) for i, (name, text) in enumerate(hostile_configs().items())]
        list(pool.map(lambda item: one(*item), items))
    return tally


# --- 3. hostile report.json ---------------------------------------------------------------------

REPORT = Path(__file__).resolve().parent.parent / "tests" / "render" / "reports" / "failing.json"


def hostile_reports() -> dict[str, bytes]:
    text = REPORT.read_text()

    def number(key: str, value: str) -> str:
        return re.sub(rf'"{key}": -?[0-9][0-9.e+-]*', f'"{key}": {value}', text, count=1)

    def field(path: list[Any], value: Any) -> str:
        data = json.loads(text)
        node = data
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
        return json.dumps(data)

    body = text.rstrip()[:-1]
    out: dict[str, str | bytes] = {
        "200k deep": body + ', "x": ' + "[" * 200_000 + "]" * 200_000 + "}",
        "1000 deep": body + ', "x": ' + "[" * 1000 + "]" * 1000 + "}",
        "5000-digit number": number("rows", "7" * 5000),
        "NaN": number("delta", "NaN"),
        "Infinity": number("candidate", "Infinity"),
        "-Infinity": number("champion", "-Infinity"),
        "1e999": number("rows", "1e999"),
        "lone surrogate in a reason": field(["gate", "reasons"], ["x\ud800y"]),
        "lone surrogate in a metric name": field(["metrics", 0, "name"], "auc\udfff"),
        "bidi in a metric name": field(["metrics", 0, "name"], "auc\u202eevil\u2066x\u2069"),
        "zero-width in a reason": field(["gate", "reasons"], ["ok\u200d\ufeff\u061c\u2060"]),
        "escape sequences": field(["gate", "reasons"], ["\x1b[2J\x1b]0;pwned\x07"]),
        "9 MiB": body + ', "pad": "' + "x" * (9 << 20) + '"}',
        "not JSON": "{'model': 'clf'}",
        "top-level list": "[1, 2, 3]",
        "invalid UTF-8": b'{"model": "\xff"}',
        "BOM": "\ufeff" + text,
        "empty": "",
    }
    return {
        k: v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass") for k, v in out.items()
    }


def reports(workdir: Path, timeout: float, jobs: int) -> Tally:
    tally = Tally("hostile report.json")
    folder = workdir / "reports"
    folder.mkdir()

    def one(number: int, name: str, data: bytes) -> None:
        path = folder / f"{number:02d}.json"
        path.write_bytes(data)
        result = run([*CHAMPION, "summary", "--report", str(path)], folder, timeout)
        label = f"{name}: champion summary"
        tally.add(label, result, (0, 2))
        shown = result.out + result.err
        tally.count("hidden or escape characters shown", label, bool(HIDDEN.search(shown)))
        tally.count(
            "nan or inf shown",
            label,
            bool(re.search(r"\b(nan|inf)%?(?![a-z])", result.out.lower())),
        )

    with ThreadPoolExecutor(jobs) as pool:
        items = [(i, name, data) for i, (name, data) in enumerate(hostile_reports().items())]
        list(pool.map(lambda item: one(*item), items))
    return tally


# --- 4. a GitHub that echoes the token ----------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 403

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("Authorization", "")
        status = self.server.status  # type: ignore[attr-defined]
        if status == 200:  # malformed: text where JSON is expected
            data = f"<html>proxy: you sent Authorization: {auth}</html>".encode()
        else:  # cut where champion cuts (300 characters): the token's first half stays
            message = "x" * 250 + " you sent Authorization: " + auth
            data = json.dumps({"message": message, "authorization": auth}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def echoing(status: int) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.status = status  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fragments(text: str) -> list[str]:
    return [TOKEN[i : i + 8] for i in range(len(TOKEN) - 7) if TOKEN[i : i + 8] in text]


def token_echo(workdir: Path, timeout: float, jobs: int) -> Tally:
    tally = Tally("echoing GitHub")
    base = workdir / "echo"
    base.mkdir()
    build_git_project(base)
    repo = base / "work"
    report = REPORT
    commands = {
        "comment": ["comment", "--report", str(report), "--pr", "5"],
        "release --github-release": ["release", MODEL, "--push", "--github-release"],
        "promote --dispatch-workflow": [
            "promote", MODEL, "0.2.0", "--stage", "prod", "--push", "--dispatch-workflow", "d.yml",
        ],
        "rollback --dispatch-workflow": [
            "rollback", MODEL, "--reason", "sweep", "--push", "--dispatch-workflow", "d.yml",
        ],
    }  # fmt: skip
    statuses = [200, 401, 403, 404, 422, 500]

    def one(item: tuple[str, int, bool]) -> None:
        name, status, debug = item
        tmp = base / f"tmp-{list(commands).index(name)}-{status}-{int(debug)}"
        tmp.mkdir()
        env = {
            **ENV,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "octo/app",
            "TMPDIR": str(tmp),  # champion-error.log goes here
        }
        if debug:
            env["CHAMPION_DEBUG"] = "1"
        with echoing(status) as url:
            env["GITHUB_API_URL"] = url
            result = run([*CHAMPION, *commands[name]], repo, timeout, env)
        log = tmp / "champion-error.log"
        seen = result.out + result.err + (log.read_text() if log.exists() else "")
        label = f"{name} against {status}{' with CHAMPION_DEBUG' if debug else ''}"
        tally.add(label, result, (2,))
        tally.count("token leaked", label, bool(fragments(seen)))

    items = [(n, s, d) for n in commands for s in statuses for d in (False, True)]
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, items))
    return tally


# --- the report ---------------------------------------------------------------------------------


def show(tally: Tally) -> None:
    codes = ", ".join(f"exit {c}: {n}" for c, n in sorted(tally.codes.items(), key=str))
    print(f"\n## {tally.name}: {tally.runs} runs ({codes})")
    for what, n in sorted(tally.counts.items()):
        print(f"   {what}: {n}")
    for problem in tally.problems:
        print(f"   PROBLEM {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep the projects here (default: a temp dir)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per command")
    parser.add_argument("--jobs", type=int, default=4, help="commands run at once")
    parser.add_argument(
        "--only", choices=["tampered", "configs", "reports", "echo"], action="append"
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="champion-hostile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ENV["DVC_SITE_CACHE_DIR"] = str(workdir / "dvc-site-cache")
    ENV["GIT_CONFIG_GLOBAL"] = str(workdir / "gitconfig")
    sections = {
        "tampered": lambda: tampered(workdir, args.timeout),
        "configs": lambda: configs(workdir, args.timeout, args.jobs),
        "reports": lambda: reports(workdir, args.timeout, args.jobs),
        "echo": lambda: token_echo(workdir, args.timeout, args.jobs),
    }
    started = time.perf_counter()
    tallies = [sections[name]() for name in args.only or sections]
    print(f"# champion hostile sweep ({time.perf_counter() - started:.0f} s, {workdir})")
    for tally in tallies:
        show(tally)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(t.problems for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())
