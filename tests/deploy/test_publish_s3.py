"""Publishing to S3: moto's S3 server on loopback stands in for AWS, reached through the same
s3fs and boto3 code paths (AWS_ENDPOINT_URL, which both honour). The pointer and the git-tracked
artifact land as objects a service can read with boto3; the conditional write is S3's own
(If-Match / If-None-Match), so a stale token loses and a higher counter is never overwritten."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from champion.deploy import pointer
from champion.deploy.pointer import Written
from champion.deploy.store import Store
from testing.deploy import (
    MODEL,
    build_git_project,
    make_pointer,
    ok,
    run,
)
from testing.releases import Capsys, tag_commit
from testing.repos import Repo, isolated

_BUCKETS = itertools.count()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A moto S3 server on 127.0.0.1 for the module, and a boto3 client for it."""
    import boto3
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    empty = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            mp.delenv(var, raising=False)
        mp.setenv("AWS_CONFIG_FILE", str(empty / "config"))  # none of this machine's settings
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        # fsspec keeps one S3FileSystem per set of arguments; none may outlive this server.
        s3fs.S3FileSystem.clear_instance_cache()
        try:
            yield boto3.client("s3")
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new versioned bucket: each write of an object adds a version, so a test can count them."""
    name = f"champion-{next(_BUCKETS)}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("publish-s3")
    with isolated(base):
        build_git_project(base, promote=False)
    return base


@pytest.fixture
def project(project: Repo, bucket: str) -> Repo:
    """tests/conftest.py's copy of the template, publishing to the bucket."""
    config = (project.path / "champion.yaml").read_text()
    (project.path / "champion.yaml").write_text(
        config.replace("pointer: ../pointers", f"pointer: s3://{bucket}/champion/churn")
    )
    return project


def get(s3: Any, bucket: str, key: str) -> bytes:
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert isinstance(data, bytes)
    return data


def versions(s3: Any, bucket: str, key: str) -> int:
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return sum(1 for v in listed if v["Key"] == key)


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_publish_writes_the_pointer_and_the_artifact_as_s3_objects(
    project: Repo, capsys: Capsys, s3: Any, bucket: str
) -> None:
    repo = project
    out = ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    assert f"pointer s3://{bucket}/champion/churn/prod.json now names 0.2.0" in out

    data = json.loads(get(s3, bucket, "champion/churn/prod.json"))
    assert (data["schema"], data["model"], data["stage"], data["version"]) == (
        1,
        "churn",
        "prod",
        "0.2.0",
    )
    assert (data["tag"], data["counter"], data["canary"]) == ("churn#prod#1", 1, None)
    assert data["commit"] == tag_commit(repo.origin, "churn@v0.2.0")
    artifact = data["artifact"]
    sha = hashlib.sha256(b"model 2").hexdigest()
    assert (artifact["path"], artifact["sha256"], artifact["size"]) == (MODEL, sha, 7)
    assert artifact["url"] == f"s3://{bucket}/champion/churn/artifacts/{sha}"
    fetched = get(s3, bucket, f"champion/churn/artifacts/{sha}")
    assert hashlib.sha256(fetched).hexdigest() == sha
    # Nothing else: no temp objects.
    assert keys(s3, bucket) == ["champion/churn/artifacts/" + sha, "champion/churn/prod.json"]

    # Idempotent: no second version of the pointer, nor of the artifact.
    assert "already names 0.2.0" in ok(run(capsys, repo, "publish", "churn"))
    assert versions(s3, bucket, "champion/churn/prod.json") == 1
    assert versions(s3, bucket, f"champion/churn/artifacts/{sha}") == 1

    # The next promotion replaces the pointer; the earlier artifact stays for services that
    # still serve it.
    ok(run(capsys, repo, "promote", "churn", "0.3.0", "--stage", "prod", "--push"))
    data = json.loads(get(s3, bucket, "champion/churn/prod.json"))
    assert (data["version"], data["counter"]) == ("0.3.0", 3)
    assert len(keys(s3, bucket)) == 3
    assert versions(s3, bucket, "champion/churn/prod.json") == 2


def test_a_forged_higher_counter_in_s3_is_replaced(
    project: Repo, capsys: Capsys, s3: Any, bucket: str
) -> None:
    """A counter beyond the model's last tag is no newer view (issue 14 item 2): the conditional
    write replaces it (a newer view that the tags back stays: test_publish.py)."""
    repo = project
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    newer = json.loads(get(s3, bucket, "champion/churn/prod.json"))
    newer.update(version="9.9.9", tag="churn#prod#99", counter=99)
    hand_made = json.dumps(newer).encode()
    s3.put_object(Bucket=bucket, Key="champion/churn/prod.json", Body=hand_made)

    out = ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    assert "was invalid (its counter 99 is beyond the last event of churn (#3)" in out
    assert "replaced, it now names 0.2.0" in out
    assert json.loads(get(s3, bucket, "champion/churn/prod.json"))["version"] == "0.2.0"
    assert versions(s3, bucket, "champion/churn/prod.json") == 3  # ours, the forgery, ours


def test_a_broken_pointer_in_s3_is_replaced(
    project: Repo, capsys: Capsys, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="champion/churn/prod.json", Body=b'{"schema": 1, "cou')
    out = ok(run(capsys, project, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    assert "now names 0.1.0" in out
    assert json.loads(get(s3, bucket, "champion/churn/prod.json"))["version"] == "0.1.0"


def test_the_conditional_write_refuses_a_stale_token(s3: Any, bucket: str) -> None:
    store = Store(f"s3://{bucket}/champion/churn")
    assert store.read("prod.json") is None
    assert store.write("prod.json", b"one", None)
    assert not store.write("prod.json", b"two", None)  # If-None-Match: it exists now
    first = store.read("prod.json")
    assert first is not None and first.data == b"one"

    s3.put_object(Bucket=bucket, Key="champion/churn/prod.json", Body=b"someone else")
    assert not store.write("prod.json", b"three", first)  # If-Match with a stale ETag
    assert get(s3, bucket, "champion/churn/prod.json") == b"someone else"
    now = store.read("prod.json")
    assert now is not None and now.data == b"someone else" and now.token != first.token
    assert store.write("prod.json", b"four", now)
    assert get(s3, bucket, "champion/churn/prod.json") == b"four"


def test_pointer_write_reads_again_after_another_writer(s3: Any, bucket: str) -> None:
    store = Store(f"s3://{bucket}/champion/churn")
    assert pointer.write(store, make_pointer(5)).outcome == "written"
    # Another publisher (another machine: not through this process's s3fs) writes a newer one.
    s3.put_object(Bucket=bucket, Key="champion/churn/prod.json", Body=make_pointer(9).to_json())
    assert pointer.write(store, make_pointer(7)) == Written("newer-there", make_pointer(9))
    assert pointer.write(store, make_pointer(12)) == Written("written", make_pointer(9))
    assert pointer.read(store, "prod") == make_pointer(12)
