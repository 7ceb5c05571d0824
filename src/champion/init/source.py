"""Which release of champion's actions the workflows `champion init` writes should call.

The actions and the package are one repository released together, so the workflows call the
actions of the very release the running champion comes from:
- installed from a git URL (`pip install git+https://github.com/OWNER/champion@...`): that
  repository, pinned to the commit pip recorded (PEP 610's direct_url.json);
- installed from a package index: the repository its metadata names (Project-URL `Source`), at
  the tag `v<version>` of this version;
- `--action-repo` and `--action-ref` override either (a tag or a full commit sha).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import metadata

from champion import __version__
from champion.init.render import ActionRef

_GITHUB = re.compile(r"(?:https?://|git@|ssh://git@)github\.com[/:]([\w.-]+/[\w.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Source:
    repository: str | None  # owner/name on GitHub, when known
    commit: str | None  # the commit this install was built from, when known


def installed_from() -> Source:
    try:
        dist = metadata.distribution("champion")
    except metadata.PackageNotFoundError:
        return Source(None, None)
    found = from_direct_url(dist.read_text("direct_url.json") or "")
    if found.repository is not None:
        return found
    for entry in dist.metadata.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        m = _GITHUB.match(url.strip())
        if m and label.strip().lower() in ("source", "repository", "homepage"):
            return Source(m[1], None)
    return found


def from_direct_url(raw: str) -> Source:
    """PEP 610's record of a `pip install git+https://github.com/OWNER/NAME@REF`: the
    repository and the commit it resolved to."""
    try:
        direct = json.loads(raw) if raw else {}
    except ValueError:
        return Source(None, None)
    if not isinstance(direct, dict) or not isinstance(direct.get("vcs_info"), dict):
        return Source(None, None)
    m = _GITHUB.match(str(direct.get("url", "")))
    if m is None:
        return Source(None, None)
    sha = direct["vcs_info"].get("commit_id")
    commit = sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40}", sha) else None
    return Source(m[1], commit)


def release_tag() -> str:
    return f"v{__version__}"


def action_ref(repository: str | None, ref: str | None) -> ActionRef:
    """--action-repo and --action-ref, else where this champion was installed from."""
    where = installed_from()
    repo = repository or where.repository or "OWNER/champion"
    if ref is None:
        same = repository is None or repository == where.repository
        ref = where.commit if (where.commit and same) else release_tag()
    return ActionRef(repo, ref, __version__)
