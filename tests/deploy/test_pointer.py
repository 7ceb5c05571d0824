"""The pointer file and its conditional write on a local folder: parse and format are inverses,
a write never replaces a higher counter, a stale read loses, and many writers at once (threads and
processes) leave the highest counter in a file that is always valid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from champion.deploy import pointer
from champion.deploy.pointer import Canary, PointerError, Written
from champion.deploy.store import Store
from testing.deploy import make_pointer as make


def test_to_json_and_parse_are_inverses() -> None:
    plain = make(7)
    with_canary = replace(
        plain,
        canary=Canary("1.8.0", 0.25, "churn#prod-canary#8", "d" * 40, plain.artifact),
    )
    for p in (plain, with_canary):
        assert pointer.parse(p.to_json(), "prod.json") == p
        data = json.loads(p.to_json())
        assert data["schema"] == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"schema": 2}, "schema 2"),
        ({"counter": -1}, "'counter'"),
        ({"counter": True}, "'counter'"),
        ({"version": ""}, "'version'"),
        ({"artifact": {"path": "m", "sha256": "XYZ", "size": 1, "url": "u"}}, "sha256"),
        ({"canary": {"version": "1.8.0", "weight": 1.5}}, "weight"),
        ({"canary": "yes"}, "canary"),
    ],
)
def test_parse_refuses_what_is_not_a_pointer(change: dict[str, object], named: str) -> None:
    data = {**json.loads(make(7).to_json()), **change}
    with pytest.raises(PointerError, match=r"prod\.json") as e:
        pointer.parse(json.dumps(data).encode(), "prod.json")
    assert named in str(e.value)


def test_the_artifact_keys_for_folders_formats_and_loaders() -> None:
    plain = make(7)
    folder = replace(
        plain,
        artifact=replace(plain.artifact, format=None, kind="folder", loader="mypkg.serving:load"),
    )
    assert pointer.parse(folder.to_json(), "prod.json") == folder
    data = json.loads(plain.to_json())
    assert (data["artifact"]["kind"], data["artifact"]["loader"]) == ("file", None)
    # A pointer written before these keys: a file, joblib (the only format then), no loader.
    for key in ("format", "kind", "loader"):
        del data["artifact"][key]
    old = pointer.parse(json.dumps(data).encode(), "prod.json").artifact
    assert (old.format, old.kind, old.loader) == ("joblib", "file", None)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kind": "dir"}, "'artifact.kind'"),
        ({"loader": "os.system"}, "'artifact.loader'"),
        ({"loader": 3}, "'artifact.loader'"),
        ({"format": 1}, "'artifact.format'"),
        ({"format": ""}, "'artifact.format'"),
    ],
)
def test_parse_refuses_bad_artifact_keys(change: dict[str, object], named: str) -> None:
    data = json.loads(make(7).to_json())
    data["artifact"].update(change)
    with pytest.raises(PointerError, match=r"prod\.json") as e:
        pointer.parse(json.dumps(data).encode(), "prod.json")
    assert named in str(e.value)


def test_parse_refuses_a_huge_file() -> None:
    with pytest.raises(PointerError, match="too big"):
        pointer.parse(b" " * (pointer.MAX_BYTES + 1), "prod.json")


def test_write_outcomes(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "pointers"))
    assert pointer.write(store, make(3)) == Written("written", None)
    assert pointer.read(store, "prod") == make(3)
    # The same target, written later: nothing to do.
    later = replace(make(3), updated_at="2030-01-01T00:00:00Z")
    assert pointer.write(store, later) == Written("unchanged", make(3))
    # An older view of the registry never replaces a newer one.
    before = (tmp_path / "pointers" / "prod.json").read_bytes()
    assert pointer.write(store, make(2)) == Written("newer-there", make(3))
    assert (tmp_path / "pointers" / "prod.json").read_bytes() == before
    # A newer one, or the same counter naming another target, replaces it.
    assert pointer.write(store, make(3, version="9.0.0")).outcome == "written"
    assert pointer.write(store, make(4)) == Written("written", make(3, version="9.0.0"))
    assert pointer.read(store, "prod") == make(4)
    # Stages have their own files.
    assert pointer.write(store, make(1, stage="staging")).outcome == "written"
    assert pointer.read(store, "prod") == make(4)


def test_a_broken_pointer_is_replaced(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    (tmp_path / "prod.json").write_bytes(b'{"schema": 1, "counter": 99, "mod')
    with pytest.raises(PointerError, match="not valid JSON"):
        pointer.read(store, "prod")
    done = pointer.write(store, make(1))
    assert (done.outcome, done.there) == ("replaced", None)
    assert done.invalid is not None and "not valid JSON" in done.invalid
    assert pointer.read(store, "prod") == make(1)


def test_a_stale_read_loses_the_conditional_write(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    assert store.write("prod.json", b"one", None)
    assert not store.write("prod.json", b"two", None)  # "create" when it exists
    first = store.read("prod.json")
    assert first is not None and first.data == b"one"
    assert store.write("prod.json", b"three", first)
    assert not store.write("prod.json", b"four", first)  # someone wrote since that read
    now = store.read("prod.json")
    assert now is not None and now.data == b"three" and now.token != first.token
    # Same size, same second: the token still tells the files apart.
    assert store.write("prod.json", b"thref", now)
    assert not store.write("prod.json", b"xxxxx", now)
    assert (tmp_path / "prod.json").read_bytes() == b"thref"


def leftovers(folder: Path) -> list[str]:
    """Files other than the pointers and their lock files: temp files a write left behind."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if not p.name.endswith(".json") and not p.name.endswith(".json.lock")
    )


class Watcher(threading.Thread):
    """Reads the pointer over and over while others write it; every read must parse."""

    def __init__(self, store: Store) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.stop = threading.Event()
        self.reads = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                found = pointer.read(self.store, "prod")
            except PointerError as e:
                self.errors.append(str(e))
            else:
                self.reads += found is not None


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads take turns far more often than every 5 ms, so their writes interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_switching")
def test_threads_writing_at_once_leave_the_highest_counter(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    # Each writer climbs its own share (1, 17, 33, ... for the first), so all of them keep
    # writing to the end, and the last round is a race between 16 writers.
    counters = list(range(1, 65))
    start = threading.Barrier(16)
    outcomes: dict[int, str] = {}
    failures: list[BaseException] = []

    def writer(mine: list[int]) -> None:
        start.wait()
        for counter in mine:
            try:
                outcomes[counter] = pointer.write(Store(str(tmp_path)), make(counter)).outcome
            except BaseException as e:
                failures.append(e)

    watcher = Watcher(store)
    watcher.start()
    threads = [threading.Thread(target=writer, args=(counters[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    watcher.stop.set()
    watcher.join()

    assert failures == []
    assert pointer.read(store, "prod") == make(64)
    assert outcomes[64] == "written"
    assert set(outcomes.values()) <= {"written", "newer-there"}
    assert watcher.errors == []
    assert leftovers(tmp_path) == []


WRITER = """
import sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
from champion.deploy import pointer
from champion.deploy.store import Store
from testing.deploy import make_pointer as make

folder, go = Path(sys.argv[2]), Path(sys.argv[3])
Path(f"{go}.{sys.argv[4]}").touch()  # ready
while not go.exists():
    time.sleep(0.001)
for counter in map(int, sys.argv[4:]):
    outcome = pointer.write(Store(str(folder)), make(counter)).outcome
    print(counter, outcome)
"""


def test_processes_writing_at_once_leave_the_highest_counter(tmp_path: Path) -> None:
    folder, go = tmp_path / "pointers", tmp_path / "go"
    counters = list(range(1, 41))  # climbed in turn, as by the threads above
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    here = str(Path(__file__).parent)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, here, str(folder), str(go)]
            + [str(c) for c in counters[i::8]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(8)
    ]
    ready = [Path(f"{go}.{c}") for c in counters[:8]]
    while not all(r.exists() for r in ready) and all(p.poll() is None for p in procs):
        time.sleep(0.01)  # every writer has imported champion: now they start together
    watcher = Watcher(Store(str(folder)))
    watcher.start()
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    watcher.stop.set()
    watcher.join()

    outcomes = {}
    for (out, err), proc in zip(results, procs, strict=True):
        assert proc.returncode == 0, err
        outcomes.update(dict(line.split() for line in out.splitlines()))
    assert len(outcomes) == 40
    assert outcomes["40"] == "written"
    assert set(outcomes.values()) <= {"written", "newer-there"}
    assert pointer.read(Store(str(folder)), "prod") == make(40)
    assert json.loads((folder / "prod.json").read_text())["counter"] == 40
    assert watcher.errors == []
    assert leftovers(folder) == []
