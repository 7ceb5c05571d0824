"""Which links the site may show: only the forge's own pages that champion recorded in a tag.

A tag is untrusted text (anyone who can push one writes its metadata), so a URL in it becomes a
link only when it is `https` on the forge's host and has the shape of a run or a pull request of
one repository; the link is then rebuilt from the parts that were checked, never copied. The
forge's host comes from the runner (`GITHUB_SERVER_URL`, GitHub Enterprise included) or, outside
Actions, from the repository's own remote; never from a tag.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?$")
_OWNER_REPO = r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"
_RUN = re.compile(
    rf"^/{_OWNER_REPO}/actions/runs/(?P<run>[0-9]{{1,20}})(?:/attempts/(?P<attempt>[0-9]{{1,5}}))?/?$"
)
_PULL = re.compile(rf"^/{_OWNER_REPO}/pull/(?P<number>[0-9]{{1,10}})/?$")
# git@github.com:owner/repo.git and ssh://git@github.com/owner/repo.git
_SCP = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?P<path>[^\\]+)$")


@dataclass(frozen=True)
class Forge:
    """The forge whose pages may be linked: `https://HOST/...`."""

    host: str

    def run(self, value: object) -> str | None:
        """A workflow run's URL as champion records it (`ci.context.run_url`), rebuilt; else None."""
        parts = self._parts(value)
        if parts is None:
            return None
        m = _RUN.match(parts)
        if m is None or m["repo"].startswith(".") or ".." in m["repo"]:
            return None
        attempt = f"/attempts/{m['attempt']}" if m["attempt"] else ""
        return f"https://{self.host}/{m['repo']}/actions/runs/{m['run']}{attempt}"

    def pull(self, value: object) -> str | None:
        """A pull request's URL (its `html_url`, as release records it), rebuilt; else None."""
        parts = self._parts(value)
        if parts is None:
            return None
        m = _PULL.match(parts)
        if m is None or m["repo"].startswith(".") or ".." in m["repo"]:
            return None
        return f"https://{self.host}/{m['repo']}/pull/{int(m['number'])}"

    def tag(self, run_or_pull: str, tag: str) -> str:
        """The forge's page of a tag (its GitHub Release when there is one), in the repository a
        link already checked by `run` or `pull` names."""
        repo = "/".join(urlsplit(run_or_pull).path.split("/")[1:3])
        return f"https://{self.host}/{repo}/releases/tag/{quote(tag, safe='')}"

    def _parts(self, value: object) -> str | None:
        if not isinstance(value, str) or len(value) > 500 or not value.isascii():
            return None
        if any(c.isspace() or not c.isprintable() for c in value):
            return None  # urlsplit would quietly strip some of these
        try:
            url = urlsplit(value)
        except ValueError:
            return None
        if url.scheme != "https" or url.query or url.fragment or "@" in url.netloc:
            return None
        if url.netloc.lower() != self.host:
            return None
        return url.path


def forge_from(server_url: str | None, remote_url: str | None) -> Forge | None:
    """The forge of `GITHUB_SERVER_URL` when set (an https URL), else of the repository's remote
    (`https://host/...`, `git@host:...` or `ssh://git@host/...`); None for a local remote."""
    if server_url:
        url = urlsplit(server_url.strip())
        host = url.netloc.lower()
        if url.scheme == "https" and _HOST.match(host) and "@" not in host:
            return Forge(host)
        return None
    if not remote_url:
        return None
    text = remote_url.strip()
    scp = _SCP.match(text)
    if scp and "/" not in scp["host"]:
        host = scp["host"].lower()
    else:
        url = urlsplit(text)
        if url.scheme not in ("https", "ssh", "git+ssh"):
            return None
        host = (url.hostname or "").lower()
        if url.scheme == "https" and url.port:
            host = f"{host}:{url.port}"
    return Forge(host) if _HOST.match(host) else None


def forge(remote_url: str | None) -> Forge | None:
    return forge_from(os.environ.get("GITHUB_SERVER_URL"), remote_url)
