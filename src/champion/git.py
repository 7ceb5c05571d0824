"""The git edge: every git process champion starts is started here (`Git.run`, `Git.run_bytes`,
`Git.batch`), so how git is found, which repository it runs in and what a failure says are
decided once. The registry's tags, the files of a commit (gitfiles.py), DVC's pointer files at a
commit (artifacts.py), the predictions' refs and the nested dvc.yaml files all read
git through it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champion.errors import GitError

# One record per ref; fields split by NUL, records end with NUL NUL (a tag message holds no NUL).
_FIELDS = (
    "%(refname)",
    "%(objecttype)",
    "%(objectname)",
    "%(*objectname)",
    "%(taggerdate:unix)",
    "%(taggername) %(taggeremail)",
    "%(contents:subject)",
    "%(contents:body)",
)
FOR_EACH_REF_FORMAT = "%00".join(_FIELDS) + "%00%00"

# Used only when the repository has no identity configured (a bare CI runner); never overrides one.
_FALLBACK_IDENTITY = {"name": "champion", "email": "champion@localhost"}


@dataclass(frozen=True)
class Lease:
    """A ref a push moves from `old` (empty: it must not exist yet) to `new`, or not at all."""

    ref: str
    new: str
    old: str = ""


@dataclass(frozen=True)
class RefRecord:
    """One tag ref as git reports it; `commit` is the peeled commit, `annotated` False for a
    lightweight tag. Refs read from a remote carry no date, tagger or message."""

    name: str  # without refs/tags/
    annotated: bool
    commit: str
    timestamp: int | None = None
    tagger: str = ""
    subject: str = ""
    body: str = ""
    oid: str = ""  # the tag object (the commit itself for a lightweight tag)


class Git:
    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        self.path = Path(path)

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`git ARGS` as text; a failure raises GitError unless `check` is False."""
        proc: subprocess.CompletedProcess[str] = self._start(args, input, env, text=True)
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args[:2])} failed in {self.path}: {proc.stderr.strip()}")
        return proc

    def run_bytes(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """`git ARGS` as bytes (file names and blobs need not be UTF-8); the caller checks the
        exit code and says what failed."""
        proc: subprocess.CompletedProcess[bytes] = self._start(args, input, env, text=False)
        return proc

    def batch(self) -> subprocess.Popen[bytes]:
        """A `git cat-file --batch` process: object names in, objects out (gitfiles.CatFile)."""
        try:
            return subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.path,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as e:
            raise self._not_started(e) from e

    def _start(
        self,
        args: Sequence[str],
        input: str | bytes | None,
        env: dict[str, str] | None,
        *,
        text: bool,
    ) -> Any:
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.path,
                input=input,
                capture_output=True,
                text=text,
                env={**os.environ, **env} if env else None,
            )
        except FileNotFoundError as e:
            raise self._not_started(e) from e

    def _not_started(self, e: FileNotFoundError) -> GitError:
        if not self.path.is_dir():
            return GitError(f"{self.path} is not a directory: run champion inside a git repository")
        return GitError("git is not installed or not on PATH: install git")

    def toplevel(self) -> Path:
        proc = self.run("rev-parse", "--show-toplevel", check=False)
        if proc.returncode != 0:
            raise GitError(
                f"{self.path.resolve()} is not a git repository: run champion inside one (git init)"
            )
        return Path(proc.stdout.strip())

    def resolve_commit(self, ref: str) -> str:
        proc = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        if proc.returncode != 0:
            if ref == "HEAD" and not self.has_commits():
                raise GitError(
                    f"the repository {self.toplevel()} has no commits yet: commit your model first"
                )
            raise GitError(
                f"{ref!r} is not a commit in {self.toplevel()}: pass a branch, tag or sha"
            )
        return proc.stdout.strip()

    def has_commits(self) -> bool:
        return self.run("rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode == 0

    def config(self, key: str) -> str | None:
        proc = self.run("config", "--get", key, check=False)
        return proc.stdout.strip() or None

    def for_each_ref(self, patterns: Sequence[str], prefix: str = "refs/tags/") -> list[RefRecord]:
        """The refs matching `patterns`, named without `prefix`."""
        out = self.run("for-each-ref", f"--format={FOR_EACH_REF_FORMAT}", *patterns).stdout
        records = []
        for raw in out.split("\0\0\n"):
            if not raw:
                continue
            name, otype, oid, peeled, date, tagger, subject, body = raw.split("\0")
            annotated = otype == "tag"
            records.append(
                RefRecord(
                    name=name.removeprefix(prefix),
                    annotated=annotated,
                    commit=peeled if annotated else oid,
                    timestamp=int(date) if date else None,
                    tagger=tagger.strip() if annotated else "",
                    subject=subject,
                    body=body,
                    oid=oid,
                )
            )
        return records

    def ls_remote(self, remote: str, patterns: Sequence[str]) -> list[RefRecord]:
        proc = self.run("ls-remote", "--tags", remote, *patterns, check=False)
        if proc.returncode != 0:
            raise GitError(f"cannot list the tags of remote {remote!r}: {proc.stderr.strip()}")
        direct: dict[str, str] = {}
        peeled: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            oid, _, ref = line.partition("\t")
            name = ref.removeprefix("refs/tags/")
            if name.endswith("^{}"):
                peeled[name[:-3]] = oid
            else:
                direct[name] = oid
        # Only annotated tags have a peeled line; that is how ls-remote tells the two apart.
        return [
            RefRecord(name=n, annotated=n in peeled, commit=peeled.get(n, oid), oid=oid)
            for n, oid in direct.items()
        ]

    def identity_env(self) -> dict[str, str]:
        env = {}
        if self.config("user.name") is None and "GIT_COMMITTER_NAME" not in os.environ:
            env["GIT_COMMITTER_NAME"] = _FALLBACK_IDENTITY["name"]
        if self.config("user.email") is None and "GIT_COMMITTER_EMAIL" not in os.environ:
            env["GIT_COMMITTER_EMAIL"] = _FALLBACK_IDENTITY["email"]
        return env

    def create_tags(self, tags: Iterable[tuple[str, str, str, int]]) -> dict[str, str]:
        """Creates annotated tags (name, commit, message, unix date) all at once or not at all:
        the tag objects first, then every ref in one `update-ref` transaction, so a crash (even a
        kill -9) never leaves half of an operation's tags behind. Never moves an existing tag.
        Returns each tag's object id by name."""
        tags = list(tags)
        if not tags:
            return {}
        # Who writes, as `git tag` would record it (config, environment, or the fallback).
        ident = self.run("var", "GIT_COMMITTER_IDENT", env=self.identity_env()).stdout.strip()
        who = ident.rsplit(" ", 2)[0]
        refs = []
        for name, commit, message, date in tags:
            text = (
                f"object {commit}\ntype commit\ntag {name}\ntagger {who} {date} +0000\n\n{message}"
            )
            proc = self.run("mktag", input=text, check=False)
            if proc.returncode != 0:
                raise GitError(f"cannot create tag {name}: {proc.stderr.strip()}")
            refs.append((f"refs/tags/{name}", proc.stdout.strip()))
        self.update_refs(create=refs)
        return {ref.removeprefix("refs/tags/"): oid for ref, oid in refs}

    def update_refs(
        self,
        *,
        create: Sequence[tuple[str, str]] = (),
        update: Sequence[tuple[str, str, str]] = (),
        delete: Sequence[tuple[str, str]] = (),
    ) -> None:
        """One all-or-nothing transaction: create (ref, oid) refs that must not exist yet, update
        (ref, new, old) and delete (ref, old) refs that must still hold `old`."""
        lines = [f"create {ref} {oid}" for ref, oid in create]
        lines += [f"update {ref} {new} {old}" for ref, new, old in update]
        lines += [f"delete {ref} {old}" for ref, old in delete]
        if not lines:
            return
        proc = self.run("update-ref", "--stdin", input="\n".join(lines) + "\n", check=False)
        if proc.returncode != 0:
            raise GitError(f"cannot update the tags in {self.path}: {proc.stderr.strip()}")

    def delete_tags(self, names: Sequence[str]) -> None:
        if names:
            self.run("tag", "-d", *names, check=False)

    def push_atomic(
        self, remote: str, tags: Sequence[str], *, lease: Lease | None = None
    ) -> tuple[bool, str]:
        """Pushes the tags all-or-nothing. Returns (ok, stderr); never forces a tag. With a
        `lease`, the same push moves one more ref, only from the value it is expected to hold:
        if the remote's ref holds anything else, nothing of the push is written."""
        refspecs = [f"refs/tags/{t}:refs/tags/{t}" for t in tags]
        options = []
        if lease is not None:
            refspecs.append(f"{lease.new}:{lease.ref}")
            # An empty expected value: the ref must not exist yet.
            options.append(f"--force-with-lease={lease.ref}:{lease.old}")
        proc = self.run("push", "--atomic", "--porcelain", *options, remote, *refspecs, check=False)
        return proc.returncode == 0, (proc.stderr + proc.stdout).strip()

    def fetch_mirror(
        self,
        remote: str,
        patterns: Sequence[str],
        into: str,
        *,
        prune: bool = True,
        also: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Mirrors the remote's refs matching `patterns` (`refs/tags/...`, globs or names) under
        `into`, forced, in one fetch: one snapshot of the remote, local tags untouched. `also`
        adds (source, destination) refspecs to the same fetch. The refspecs go through stdin, so
        thousands of names fit."""
        refspecs = "".join(f"+{p}:{into}{p.removeprefix('refs/tags/')}\n" for p in patterns)
        refspecs += "".join(f"+{src}:{dst}\n" for src, dst in also)
        options = ["--prune"] if prune else []
        proc = self.run(
            "fetch",
            "--no-tags",
            *options,
            "--quiet",
            "--stdin",
            remote,
            input=refspecs,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"cannot fetch tags from remote {remote!r}: {proc.stderr.strip()}")

    def trailers(self, commit: str, key: str) -> list[str]:
        """The values of a trailer (`Key: value` lines at the end of the commit message)."""
        fmt = f"%(trailers:key={key},valueonly,separator=%x00)"
        out = self.run("log", "-1", f"--format={fmt}", commit).stdout.strip("\n")
        return [v for v in out.split("\0") if v.strip()]

    def remote_exists(self, remote: str) -> bool:
        return self.run("remote", "get-url", remote, check=False).returncode == 0

    def show_blob(self, commit: str, path: str) -> bytes | None:
        """The file at `path` in `commit`, or None when the commit has none there."""
        proc = self.run_bytes("cat-file", "blob", f"{commit}:{path}")
        return proc.stdout if proc.returncode == 0 else None
